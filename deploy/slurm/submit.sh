#!/bin/bash
# Queues the shards (a job array) and the merge, which starts only once every task of
# the array succeeded. To resume after a failed task, run the missing shards again
# (sbatch --array=I sweep-shards.sbatch) and then sweep-merge.sbatch.
set -euo pipefail
cd "$(dirname "$0")/../.."
shards=$(sbatch --parsable deploy/slurm/sweep-shards.sbatch)
sbatch --dependency="afterok:${shards}" deploy/slurm/sweep-merge.sbatch
