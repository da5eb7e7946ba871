# runtime_shared.cmake: libltc_runtime.so, the runtime as a shared library
# (for hosts that cannot link static archives: the Python package loads it
# with ctypes).  A minimal definition: every runtime object (whole archive,
# so each public ltc_* function is in it) plus what they use of the plan and
# support layers.  The packaging work defines the same target with a
# version script and hidden internals; this file only fills in until then,
# hence the guard.
if(NOT TARGET ltc_runtime_shared)
  add_library(ltc_runtime_shared SHARED ${CMAKE_SOURCE_DIR}/cmake/runtime_shared_stub.c)
  set_target_properties(ltc_runtime_shared PROPERTIES
    OUTPUT_NAME ltc_runtime
    SOVERSION 0
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  target_link_libraries(ltc_runtime_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,ltc_runtime>"
                        ltc_plan ltc_support ${CMAKE_DL_LIBS} Threads::Threads m)
  # an unresolved symbol is a link error here, not a dlopen failure in a
  # host; not under the sanitizers, whose runtime a shared library does not
  # link (clang) and the host process provides
  if(NOT LTC_SANITIZE AND NOT LTC_FUZZ)
    target_link_options(ltc_runtime_shared PRIVATE -Wl,-z,defs)
  endif()
endif()
