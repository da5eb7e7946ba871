# Runtime fuzz targets (hardening issue, item 4 c-e), included from the top
# CMakeLists.txt when -DLTC_FUZZ=ON.  Needs clang with libFuzzer (Debian:
# clang-14 libclang-rt-14-dev): configure with CC=clang-14.
#
#   fuzz_plan      plan blob -> reader -> runtime checks -> executor (no-op kernels)
#   fuzz_weights   safetensors image -> ltc_model_bind_weights_memory -> run
#   fuzz_so_load   model.so bytes -> ltc_model_open (ELF check, seal)
#   fuzz_seeds     writes seed inputs (scripts/fuzz-runtime.sh runs it)
#
# The runtime, plan and support sources are compiled again here with coverage
# instrumentation (-fsanitize=fuzzer-no-link) and ASan+UBSan, so the normal
# libraries are left as they are.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "LTC_FUZZ=ON needs clang (configure with CC=clang-14)")
endif()

set(LTC_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
add_library(ltc_fuzz_rt STATIC ${LTC_RT_SRC} ${LTC_PLAN_SRC} ${LTC_SUPPORT_SRC})
target_include_directories(ltc_fuzz_rt PUBLIC ${CMAKE_SOURCE_DIR}/runtime/include ${CMAKE_SOURCE_DIR})
target_compile_options(ltc_fuzz_rt PRIVATE ${LTC_FUZZ_FLAGS} -fsanitize=fuzzer-no-link)
target_link_libraries(ltc_fuzz_rt PUBLIC ${CMAKE_DL_LIBS} Threads::Threads m)

foreach(t fuzz_plan fuzz_weights fuzz_so_load)
  add_executable(${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/${t}.c)
  target_compile_options(${t} PRIVATE ${LTC_FUZZ_FLAGS} -fsanitize=fuzzer)
  target_link_options(${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${t} PRIVATE ltc_fuzz_rt)
endforeach()

add_executable(fuzz_seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_seeds.c)
target_compile_options(fuzz_seeds PRIVATE ${LTC_FUZZ_FLAGS})
target_link_options(fuzz_seeds PRIVATE -fsanitize=address,undefined)
target_link_libraries(fuzz_seeds PRIVATE ltc_fuzz_rt)
