"""``mm-inspector completion bash|zsh``: shell completion for the subcommands and their options,
written from the command's own argparse parser (so it cannot fall behind it):

    eval "$(mm-inspector completion bash)"     # in ~/.bashrc
    eval "$(mm-inspector completion zsh)"      # in ~/.zshrc (through bashcompinit)

A word after an option with choices (``--arch``) completes to those choices; anything else
after an option that takes a value completes to file names.
"""

from __future__ import annotations

import argparse
import shlex

SHELLS = ("bash", "zsh")


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(p: argparse.ArgumentParser) -> tuple[list[str], dict[str, list[str]]]:
    """Every option string of ``p``, and the choices of those that have them ("" for a value
    that is a file name)."""
    names: list[str] = []
    choices: dict[str, list[str]] = {}
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction) or not action.option_strings:
            continue
        names += action.option_strings
        if action.nargs != 0:
            values = [str(c) for c in action.choices] if action.choices else [""]
            for name in action.option_strings:
                choices[name] = values
    return names, choices


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell``, from ``parser``."""
    subs = _subparsers(parser)
    top, _ = _options(parser)
    cases = []
    for name, sub in sorted(subs.items()):
        opts, choices = _options(sub)
        valued = " ".join(sorted(choices))
        with_choices = [
            f"            {shlex.quote(o)}) words={shlex.quote(' '.join(v))};;"
            for o, v in sorted(choices.items())
            if v != [""]
        ]
        cases.append(
            f"        {shlex.quote(name)})\n"
            f"          opts={shlex.quote(' '.join(opts))}; valued={shlex.quote(valued)}\n"
            '          case "$prev" in\n' + "\n".join(with_choices) + "\n          esac;;"
        )
    body = f"""# mm-inspector {shell} completion (mm-inspector completion {shell})
_mm_inspector() {{
    local cur prev cmd opts valued words
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    cmd="${{COMP_WORDS[1]}}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W {shlex.quote(" ".join([*sorted(subs), *top]))} -- "$cur"))
        return
    fi
    opts=""; valued=""; words=""
    case "$cmd" in
{chr(10).join(cases)}
    esac
    if [ -n "$words" ]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif [[ " $valued " == *" $prev "* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -F _mm_inspector mm-inspector
"""
    if shell == "zsh":
        body = "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body


def add_parser(sub: argparse._SubParsersAction, top: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """``completion``, writing its script from ``top``, the whole command's parser."""
    c = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    c.add_argument("shell", choices=SHELLS)

    def cmd_completion(args: argparse.Namespace) -> int:
        print(script(top, args.shell), end="")
        return 0

    c.set_defaults(func=cmd_completion)
