# device.cmake (included by tests/CMakeLists.txt): the metal target's
# model.so run end to end on Linux, and its MSL checked, through the MSL
# shim (tests/metal/msl_runner.h: library ltc_msl_runner, tool
# ltc_msl_check).  Each part is added only when the shim's target exists.
set(LTC_METAL_BIN ${CMAKE_BINARY_DIR}/lispetorchc)
set(LTC_METAL_WORK ${CMAKE_BINARY_DIR}/tests/metal/work)
file(GLOB LTC_METAL_EXAMPLES ${CMAKE_SOURCE_DIR}/examples/*.lsp)

if(TARGET ltc_msl_runner)
  # The runtime again with a "metal" device that runs the MSL on the CPU
  # (device_msl_shim.c; devices.def adds it under LTC_HAVE_MSL_SHIM).  The
  # production ltc_runtime is unchanged: off Apple it has no metal device.
  add_library(ltc_runtime_msl STATIC ${LTC_RT_SRC_C} ${CMAKE_CURRENT_LIST_DIR}/device_msl_shim.c)
  target_include_directories(ltc_runtime_msl PUBLIC ${CMAKE_SOURCE_DIR}/runtime/include ${CMAKE_SOURCE_DIR})
  target_link_libraries(ltc_runtime_msl PUBLIC ltc_plan ltc_support ltc_msl_runner ${CMAKE_DL_LIBS} Threads::Threads m)
  target_compile_definitions(ltc_runtime_msl PUBLIC LTC_HAVE_MSL_SHIM=1)
  if(LTC_HAVE_CL_H)
    target_compile_definitions(ltc_runtime_msl PUBLIC LTC_HAVE_OPENCL=1)
  endif()
  # so_check.c against that runtime: a metal model.so against the interpreter
  add_executable(ltc_so_check_msl ${CMAKE_SOURCE_DIR}/tests/e2e/so_check.c)
  target_link_libraries(ltc_so_check_msl PRIVATE ltc_frontend ltc_runtime_msl)

  # Every example as a metal model.so (the MSL section; LTC_XCRUN=none: no
  # metallib even on a Mac), run by the shim device at the traced sizes
  # (twice: the second run reuses the device's buffers and staging), B=3
  # S=13 and S=1.  The shim runs groups one after the other on one core,
  # so the sizes stay small.
  foreach(ex ${LTC_METAL_EXAMPLES})
    get_filename_component(exn ${ex} NAME_WE)
    set(w ${LTC_METAL_WORK}/f32_${exn})
    set(chk "$<TARGET_FILE:ltc_so_check_msl> ${ex} model.so")
    add_test(NAME e2e_metal_example_${exn}
      COMMAND bash -c "mkdir -p ${w} && cd ${w} && LTC_XCRUN=none ${LTC_METAL_BIN} ${ex} --target metal -o model.so 2>/dev/null && ${chk} --repeat 2 && ${chk} B=3 S=13 && ${chk} S=1")
    set_tests_properties(e2e_metal_example_${exn} PROPERTIES TIMEOUT 600)
  endforeach()
  # a model whose code image holds a metallib too (the fake xcrun's): the
  # shim device finds the MSL section after it and runs that
  set(w ${LTC_METAL_WORK}/with_metallib)
  set(ex ${CMAKE_SOURCE_DIR}/examples/llama_block.lsp)
  add_test(NAME e2e_metal_example_with_metallib
    COMMAND bash -c "mkdir -p ${w} && cd ${w} && LTC_XCRUN=${CMAKE_CURRENT_LIST_DIR}/fake_xcrun.sh ${LTC_METAL_BIN} ${ex} --target metal -o model.so 2>/dev/null && grep -q MTLB model.so && $<TARGET_FILE:ltc_so_check_msl> ${ex} model.so B=3 S=13")
  set_tests_properties(e2e_metal_example_with_metallib PROPERTIES TIMEOUT 600)
  # bf16 and f16 (u16 storage, bit-operation bf16, MSL half), within 1e-2
  # of max(1, max |ref|) as the OpenCL ones
  foreach(case "flash_transformer_example bf16" "flash_transformer_example f16" "gpt_decoder bf16")
    separate_arguments(case)
    list(GET case 0 exn)
    list(GET case 1 dt)
    set(ex ${CMAKE_SOURCE_DIR}/examples/${exn}.lsp)
    set(w ${LTC_METAL_WORK}/${dt}_${exn})
    set(chk "$<TARGET_FILE:ltc_so_check_msl> ${ex} model.so --dtype ${dt} --tol 1e-2")
    add_test(NAME e2e_metal_${dt}_example_${exn}
      COMMAND bash -c "mkdir -p ${w} && cd ${w} && LTC_XCRUN=none ${LTC_METAL_BIN} ${ex} --target metal --dtype ${dt} -o model.so 2>/dev/null && ${chk} && ${chk} B=3 S=13 && ${chk} S=1")
    set_tests_properties(e2e_metal_${dt}_example_${exn} PROPERTIES TIMEOUT 600)
  endforeach()
endif()

if(TARGET ltc_msl_check)
  # Every example's --emit metal (f32, and bf16/f16 for the seed example)
  # type-checked by the shim's checker, with its attribute whitelist.
  foreach(ex ${LTC_METAL_EXAMPLES})
    get_filename_component(exn ${ex} NAME_WE)
    set(dts f32)
    if(exn STREQUAL "flash_transformer_example")
      list(APPEND dts bf16 f16)
    endif()
    foreach(dt ${dts})
      set(w ${LTC_METAL_WORK}/check_${dt}_${exn})
      add_test(NAME e2e_msl_check_${dt}_${exn}
        COMMAND bash -c "mkdir -p ${w} && cd ${w} && ${LTC_METAL_BIN} ${ex} --target metal --dtype ${dt} --emit metal -o model.metal && $<TARGET_FILE:ltc_msl_check> model.metal")
      set_tests_properties(e2e_msl_check_${dt}_${exn} PROPERTIES TIMEOUT 300)
    endforeach()
  endforeach()
endif()

# runtime/device_metal.m cannot be compiled off Apple; clang parses it
# here against stand-in headers (tests/metal/objc_stub, NOT Apple's), ARC
# on, so that an edit that breaks its syntax or its ARC bridging is seen.
find_program(LTC_OBJC_CLANG NAMES clang clang-16 clang-14)
if(LTC_OBJC_CLANG AND NOT APPLE)
  add_test(NAME e2e_metal_device_syntax
    COMMAND ${LTC_OBJC_CLANG} -x objective-c -fobjc-arc -fobjc-runtime=macosx-13.0 -std=gnu11 -D_GNU_SOURCE
            -Wall -Wextra -Wno-unused-parameter -Werror -fsyntax-only
            -I${CMAKE_CURRENT_LIST_DIR}/objc_stub -I${CMAKE_SOURCE_DIR} -I${CMAKE_SOURCE_DIR}/runtime/include
            ${CMAKE_SOURCE_DIR}/runtime/device_metal.m)
endif()

# The shim device itself through its RtDeviceOps: memory checks, one load,
# a step of more than LTC_GPU_MAX_GROUPS tiles split with args.tile0.
if(TARGET ltc_runtime_msl)
  add_executable(unit_metal_shim_device ${CMAKE_CURRENT_LIST_DIR}/shim_device.c)
  target_link_libraries(unit_metal_shim_device PRIVATE ltc_runtime_msl PkgConfig::CRITERION)
  add_test(NAME unit_metal_shim_device COMMAND unit_metal_shim_device --jobs 1)
  set_tests_properties(unit_metal_shim_device PROPERTIES TIMEOUT 300)
endif()
