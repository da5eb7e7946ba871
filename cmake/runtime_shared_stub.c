/* runtime_shared_stub.c: the one source of the ltc_runtime_shared target
 * (cmake/runtime_shared.cmake), whose code all comes from the static
 * runtime archive linked whole; CMake wants a source per library. */
typedef int ltc_runtime_shared_stub;
