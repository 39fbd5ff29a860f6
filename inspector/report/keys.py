"""Keyboard navigation between the walkthrough's steps: n or j to the next step, p or k to the
previous one (from the step that has the focus, else from the one at the top of the window);
the step gets the focus and the address its anchor, so a reader can link to it."""

KEYS_JS = """
document.addEventListener('keydown', function (ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (/INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) return;
  var d = {n: 1, j: 1, p: -1, k: -1}[ev.key];
  if (!d) return;
  var steps = Array.prototype.slice.call(document.querySelectorAll('section.step'));
  var here = document.activeElement && document.activeElement.closest
    ? document.activeElement.closest('section.step') : null;
  var at = steps.indexOf(here);
  if (at < 0) {
    steps.forEach(function (s, i) { if (s.getBoundingClientRect().top < 60) at = i; });
    if (at < 0 && d < 0) at = 0;
  }
  var next = steps[Math.min(steps.length - 1, Math.max(0, at + d))];
  next.focus();
  next.scrollIntoView();
  history.replaceState(null, '', '#' + next.id);
});
"""
