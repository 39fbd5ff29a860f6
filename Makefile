# mm-inspector — every target installs what it needs first (make deps).
#   make boot-x86_64 [KVER=4.7|6.1|6.12] [MEM=1G] [SMP=2] [NUMA=512M,512M] [NUMA_DIST=0-1=20]
#                    [APPEND='...'] [RUN='shell command'] [TIMEOUT=180]
#   make inspect ARCH=x86_64 [same variables]   gdb stops → JSON snapshots in the run dir
#   make gdb DMESG=boot.log [STOP=memmap_init]   any of them on a real machine's map (x86_64)
#   make test        build the kernels that can be built here (cached), then run the tests
SHELL := /bin/bash
VENV ?= .venv
MMI := $(VENV)/bin/mm-inspector
PYTEST := $(VENV)/bin/pytest
KVER ?= 4.7
# KERNEL=debian:6.12 (or debian:6.1): Debian's own kernel, unmodified, in place of KVER
ifdef KERNEL
override KVER := $(KERNEL)
endif
# Free text goes through the environment, so quotes inside RUN/APPEND survive, and as typed:
# $(value) keeps make from expanding the kernel's own `memmap=64M$256M` into `memmap=64M56M`.
override RUN := $(value RUN)
override APPEND := $(value APPEND)
export RUN APPEND
VM_ARGS = --kver "$(KVER)" $(if $(KERNEL_TREE),--kernel-tree "$(KERNEL_TREE)") --mem "$(MEM)" --smp "$(SMP)" --numa "$(NUMA)" \
          --numa-dist "$(NUMA_DIST)" --append "$$APPEND" --machine "$(MACHINE)" \
          $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(DMESG),--dmesg "$(DMESG)")

.PHONY: dmesg deps boot-x86_64 boot-arm64 inspect gdb drgn validate diff-versions report compare buddy build kernels test lint sources chaos readme-changes

deps:
	@bash scripts/deps.sh

boot-x86_64 boot-arm64: boot-%: deps
	@$(MMI) boot --arch $* $(VM_ARGS) $(if $(RUN),--run "$$RUN")

# Boot paused, stop at the mm-init functions with gdb, write a JSON snapshot per stop and a
# summary.txt into the run directory:  make inspect ARCH=x86_64 KVER=4.7 MEM=2G NUMA=1G,1G
inspect: deps
	@$(MMI) inspect --arch "$(or $(ARCH),x86_64)" $(VM_ARGS) \
	    $(if $(STOP_TIMEOUT),--stop-timeout $(STOP_TIMEOUT))

# The reference model against real kernels over a topology matrix, both cores in parallel.
validate: deps
	@$(MMI) validate --kver "$(KVER)" --arch "$(or $(ARCH),all)" $(if $(ONLY),--only "$(ONLY)") \
	    $(if $(KERNEL_TREE),--kernel-tree "$(KERNEL_TREE)") \
	    $(if $(JOBS),--jobs $(JOBS)) $(if $(XDIST_ARGS),--xdist-args "$(XDIST_ARGS)")

# The same topology under Linux 4.7 and 6.12, field by field, each difference tagged with the
# kernel change behind it:  make diff-versions [ARCH=x86_64|arm64|all] [any boot variable]
diff-versions: deps
	@$(MMI) diff-versions --arch "$(or $(ARCH),all)" $(VM_ARGS)

# The run walked in the kernel's call order, model beside capture (inspect writes it too):
#   make report RUN_DIR=runs/…   → RUN_DIR/report.html
# gdb at a stop, with the mmi commands:  make gdb ARCH=arm64 KVER=4.7 STOP=free_area_init_core
gdb: deps
	@$(MMI) gdb --arch "$(or $(ARCH),x86_64)" $(VM_ARGS) $(if $(STOP),--stop "$(STOP)")

# drgn's shell on the live guest:  make drgn ARCH=x86_64 KVER=6.12
drgn: deps
	@$(MMI) drgn --arch "$(or $(ARCH),x86_64)" $(VM_ARGS)

# A real machine's boot log predicted and judged line by line:  make dmesg LOG=boot.log
dmesg: deps
	@$(MMI) dmesg $(LOG)

report: deps
	@$(MMI) report "$(RUN_DIR)"

# Diff model and capture of one inspect run:  make compare RUN_DIR=runs/…
compare: deps
	@$(MMI) compare "$(RUN_DIR)"

# Live buddy state through drgn (guest RAM in /dev/shm files), with the invariant checks:
#   make buddy ARCH=arm64 KVER=4.7 [BLOCKS=1] [WATCH=2] [any boot variable]
buddy: deps
	@$(MMI) buddy --arch "$(or $(ARCH),x86_64)" $(VM_ARGS) --check \
	    $(if $(BLOCKS),--blocks) $(if $(WATCH),--watch $(WATCH)) $(if $(RUN),--run "$$RUN")

build: deps
	@$(MMI) build --arch "$(or $(ARCH),all)" --kver "$(KVER)" \
	    $(if $(KERNEL_TREE),--kernel-tree "$(KERNEL_TREE)")

# Every kernel whose source is at hand (6.12 always; 4.7 once supplied) — cached.
kernels: deps
	@$(MMI) build --arch all --kver all

sources: deps
	@$(MMI) sources

# ruff (lint and format) over the code and tests, mypy --strict over the package.
# README.md's table of kernel changes, regenerated from the records (a test holds them equal)
readme-changes: deps
	@$(VENV)/bin/python -m inspector.kernel_changes.table README.md

lint: deps
	@$(VENV)/bin/ruff check inspector tests bench
	@$(VENV)/bin/ruff format --check --quiet inspector tests bench
	@$(VENV)/bin/mypy

# mm-inspector interrupted 50 times at random (boot, inspect, buddy, validate, build; SIGINT,
# SIGTERM, SIGHUP, SIGKILL): counts what was left behind (must be nothing)
chaos: deps kernels
	@$(VENV)/bin/python -m tests.chaos --runs $(or $(RUNS_N),50) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))

# pytest exits 5 when it collected no test: that is not a failure of the suite.
test: deps kernels
	@$(PYTEST) $(PYTEST_ARGS); rc=$$?; if [ $$rc = 5 ]; then rc=0; fi; exit $$rc
