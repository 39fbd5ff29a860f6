"""Linux 6.12: the command line in start_kernel() (init/main.c): setup_command_line()'s two
copies, and parse_args("Booting kernel", …) (kernel/params.c) with unknown_bootoption() and
print_unknown_bootoptions(), whose string of unknown parameters is allocated and freed.
"""

from __future__ import annotations

from inspector.model.linux.early import EarlyState612

# init/main.c: what argv_init[] and envp_init[] start with
ARGV_INIT = ("init",)
ENVP_INIT = ("HOME=/", "TERM=linux")
# fs/proc/proc_sysctl.c sysctl_aliases[] (CONFIG_PROC_SYSCTL)
SYSCTL_ALIASES = (
    "hardlockup_all_cpu_backtrace",
    "hung_task_panic",
    "numa_zonelist_order",
    "softlockup_all_cpu_backtrace",
)


def dash2underscore(s: str) -> str:
    return s.replace("-", "_")


class CommandLine612(EarlyState612):
    """start_kernel()'s command-line copies and its unknown parameters."""

    def setup_command_line(self) -> None:
        # mirrors setup_command_line() (init/main.c, 6.12): saved_command_line and
        # static_command_line; command_line is boot_command_line on both arches (no
        # CONFIG_CMDLINE, no bootconfig)
        n = len(self.mi.cmdline.encode()) + 1
        self.memblock_alloc(n, self.smp_cache_bytes, "setup_command_line")
        self.memblock_alloc(n, self.smp_cache_bytes, "setup_command_line")

    # --- parse_args("Booting kernel", …) -------------------------------------------------------

    def _obsolete_checksetup(self, line: str) -> bool:
        # mirrors obsolete_checksetup() (init/main.c, 6.12): a __setup() prefix match (its
        # handler taken to accept the value), or an early_param() of exactly this name
        had_early = False
        want = dash2underscore(line)
        for name, early in self.mi.setup_params:
            if not want.startswith(dash2underscore(name)):
                continue
            if early:
                rest = line[len(name) :]
                if rest == "" or rest.startswith("="):
                    had_early = True
            else:
                return True
        return had_early

    def unknown_bootoption(
        self, param: str, val: str | None, argv: list[str], envp: list[str]
    ) -> None:
        # mirrors unknown_bootoption() (init/main.c, 6.12): what is neither a sysctl alias, a
        # bootloader identifier, a __setup() nor a module parameter goes to init
        if self.mi.config_proc_sysctl and param in SYSCTL_ALIASES:
            return
        line = param if val is None else f"{param}={val}"  # repair_env_string()
        if line.startswith(("BOOT_IMAGE=", "kexec")):
            return
        if self._obsolete_checksetup(line):
            return
        if "." in param:
            return
        if val is not None:
            for i, env in enumerate(envp):
                if env.startswith(param + "="):  # strncmp(param, envp_init[i], len + 1)
                    envp[i] = line
                    return
            envp.append(line)
        else:
            argv.append(line)

    def print_unknown_bootoptions(self) -> None:
        # mirrors parse_args("Booting kernel", static_command_line, __param, …,
        # unknown_bootoption) (kernel/params.c) and print_unknown_bootoptions() (init/main.c,
        # 6.12): the unknown words are joined in a memblock_alloc()ed string, then freed
        argv, envp = list(ARGV_INIT), list(ENVP_INIT)
        known = {dash2underscore(p) for p in self.mi.kernel_params}
        for word in self.mi.cmdline.split():
            if word == "--":
                break
            param, eq, value = word.partition("=")
            if dash2underscore(param) in known:  # parse_one(): a kernel_param of that name
                continue
            self.unknown_bootoption(param, value if eq else None, argv, envp)
        extra = argv[len(ARGV_INIT) :] + envp[len(ENVP_INIT) :]
        if not extra:
            return
        n = 1 + sum(1 + len(w.encode()) for w in extra)
        base = self.memblock_alloc(n, self.smp_cache_bytes, "print_unknown_bootoptions")
        self.mb.free(base, n, "print_unknown_bootoptions")
