#include <metal_stdlib>
using namespace metal;
/* a group sum through simd_sum and threadgroup memory: valid MSL */
[[max_total_threads_per_threadgroup(64)]] kernel void sum64(device const float *x [[buffer(0)]], device float *y [[buffer(1)]],
                                                            uint g [[threadgroup_position_in_grid]],
                                                            uint lid [[thread_position_in_threadgroup]],
                                                            ushort lane [[thread_index_in_simdgroup]],
                                                            ushort sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float part[2];
    float s = simd_sum(x[g * 64 + lid]);
    if (lane == 0) part[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) y[g] = part[0] + part[1];
}
