#include <metal_stdlib>
using namespace metal;
/* [[thread_id]] is not an MSL attribute (clang alone would ignore it) */
kernel void k(device float *x [[buffer(0)]], uint i [[thread_id]]) { x[i] = 0.0f; }
