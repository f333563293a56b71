#!/usr/bin/env bash
# One batched group per SLURM task: a sweep too big for one machine, split where the
# batched launcher would split it anyway.
#
#   sbatch --array=0-3 examples/slurm_batched.sh               # the four groups below
#   sbatch --array=0-3 examples/slurm_batched.sh epochs=5000   # extra overrides win
#   nnexp report outputs/multirun/slurm-<job id>     # one report of all groups
#
# The batched launcher trains every job of a group (jobs that differ only in seed, lr and
# the other per-replica options) as one stacked computation, in one process; it cannot
# submit anything itself. So each task of the array runs it on one setting of the options
# that define a group (groups, one line a task) over the shared per-replica sweep (sweep).
# Every task leaves its own sweep folder, with its summary.csv and report; the report of
# the parent folder collects all of them. Running the same array again (same
# NNEXP_SWEEP_DIR) resumes it: finished runs are skipped, killed ones redone.
#
# Without SLURM, `SLURM_ARRAY_TASK_ID=2 bash examples/slurm_batched.sh` runs task 2 here.
#SBATCH --job-name=nnexp-batched
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=60
set -euo pipefail
set -f  # overrides such as model.hidden=[16] are not file patterns

# What each task trains alone: the options that define a batched group.
groups=(
  "model.hidden=[8] activation=tanh"
  "model.hidden=[8] activation=relu"
  "model.hidden=[32] activation=tanh"
  "model.hidden=[32] activation=relu"
)
# What every task sweeps inside its group, as one stacked computation.
sweep=(dataset=spiral dataset.n=400 optimizer=adam 'seed=range(0,20)' lr=0.003,0.01,0.03
       epochs=2000)

task=${SLURM_ARRAY_TASK_ID:-0}
if (( task < 0 || task >= ${#groups[@]} )); then
  echo "slurm_batched.sh: task $task has no group: use --array=0-$(( ${#groups[@]} - 1 ))" >&2
  exit 2
fi
root=${NNEXP_SWEEP_DIR:-outputs/multirun/slurm-${SLURM_ARRAY_JOB_ID:-local}}
# shellcheck disable=SC2086  # a group is several overrides, split on spaces
exec "${PYTHON:-python}" -m nnexp -m hydra/launcher=batched \
  hydra.launcher.n_jobs="${SLURM_CPUS_PER_TASK:-0}" \
  ${groups[$task]} "${sweep[@]}" "$@" \
  hydra.sweep.dir="$root/group-$task"
