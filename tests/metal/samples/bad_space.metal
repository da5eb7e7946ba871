#include <metal_stdlib>
using namespace metal;
/* threadgroup memory where a device pointer is expected */
kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {
    threadgroup float t[32];
    device float *p = t;
    p[i] = x[i];
}
