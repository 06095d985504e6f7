#!/usr/bin/env bash
# Seed corpus for fuzz_config_files: selector byte (0 tier TOML, 1 machine profile, 2 usage profile,
# 3 plan, 4 --hardware string) + a valid text of that kind, for the mutations to start from.
set -euo pipefail
dir=$1
mkdir -p "$dir"
seed() { printf "\\x$(printf %02x "$1")%s" "$2" >"$dir/seed-$1-$3"; }
seed 0 'base = "probe"
[cpu]
threads = 48
per_layer_overhead = "30us"
attention_macs_per_s = 4.5e10
[[tier]]
name = "dram0"
capacity = "48G"
[[tier]]
name = "pmem0"
kind = "pmem"
mode = "fsdax"
path = "/mnt/pmem0"
capacity = "768G"
bandwidth = "30GB/s"
latency = "300ns"
numa_node = 0
[[tier]]
name = "nvme0"
remove = true' a
seed 1 '{"cpu": {"attention_macs_per_s": 5.7e10, "cores": 2, "decode_bytes_per_s": 2.5e10, "model": "x",
 "per_layer_overhead_s": 2.5e-05, "prefill_flops": 5.6e10, "sockets": 1, "threads": 2},
 "created": "2026-11-22T12:54:31Z", "format": "strata-machine-profile", "notes": ["a"],
 "tiers": [{"capacity": 24119562240, "compute_flops": 0.0, "kind": "dram", "latency_s": 1e-7, "link_bw": 0.0,
 "link_latency_s": 0.0, "mode": "", "name": "dram0", "near_cache_bw": 0.0, "near_cache_bytes": 0, "numa_node": 0,
 "path": "", "peak_bw": 3e10, "random_4k_bw": 0.0, "seq_read_bw": 0.0, "source": "measured", "stream_bw": 2.9e10},
 {"capacity": 2000000000000, "compute_flops": 0.0, "kind": "nvme", "latency_s": 8e-5, "link_bw": 0.0,
 "link_latency_s": 0.0, "mode": "", "name": "nvme0", "near_cache_bw": 0.0, "near_cache_bytes": 0, "numa_node": -1,
 "path": "/mnt/nvme", "peak_bw": 7e9, "random_4k_bw": 5e7, "seq_read_bw": 6.5e9, "source": "measured",
 "stream_bw": 0.0}], "version": 1}' a
seed 2 '{"model": "m", "n_layer": 2, "n_expert": 8, "counts": [[1, 1, 1, 2, 1, 1, 2, 3], [1, 2, 3, 2, 2, 0, 0, 2]]}' a
i=0
for hw in "xeon-6338:6ch-ddr4-3200:64G + optane-200:6x128G" "2x xeon-6338:8ch-ddr4-3200:768G" \
          "xeon-6246:6ch-ddr4-2933:192G + optane-100:6x128G:memory-mode + rtx3060" \
          "xeon-8480:8ch-ddr5-4800:1T + optane-200:8x256G:app-direct + 2x nvme-gen4:4T + h200:pcie5"; do
  seed 4 "$hw" "$i"
  i=$((i + 1))
done
