#!/usr/bin/env bash
# Build a vdx dataset as a Slurm job array: one array task per shard.
#
#   sbatch --array=0-63 examples/slurm_build.sh /data/kinetics/train /scratch/k700/train
#   # when every task has finished:
#   vdx manifest /scratch/k700
#
# Every task sees the same input list and builds shard $SLURM_ARRAY_TASK_ID of
# $SLURM_ARRAY_TASK_COUNT (vdx build --shard k/N); a re-queued task whose shard is already
# built exits at once. Set VDX_BUILD_OPTS for other build options.
#SBATCH --job-name=vdx-build
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=vdx-build-%A_%a.log
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: sbatch --array=0-N examples/slurm_build.sh INPUTS DIR/NAME" >&2
  exit 2
fi
: "${SLURM_ARRAY_TASK_ID:?run this as a Slurm array task (sbatch --array=...)}"
: "${SLURM_ARRAY_TASK_COUNT:?run this as a Slurm array task (sbatch --array=...)}"
VDX="${VDX:-vdx}"
# A URL (s3://, gs://, az://, http(s)://) needs no folder: vdx builds locally and uploads.
case "$2" in
  *://*) ;;
  *) mkdir -p "$(dirname "$2")" ;;
esac
# shellcheck disable=SC2086
exec "$VDX" build "$1" --out "$2" --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
  --threads "${SLURM_CPUS_PER_TASK:-0}" --quiet ${VDX_BUILD_OPTS:-}
