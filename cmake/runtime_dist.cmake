# runtime_dist.cmake: the runtime as hosts outside this tree get it
# (docs/packaging.md).  Included from the top CMakeLists.txt after the
# in-tree libraries; LTC_RT_SRC, LTC_PLAN_SRC and LTC_SUPPORT_SRC are its
# sources.
#
#   ltc_runtime_objs     the runtime, plan/ and support/ compiled once more,
#                        with -fvisibility=hidden: only runtime.h's
#                        declarations are visible (its visibility pragma)
#   ltc_runtime_shared   libltc_runtime.so.0 (SONAME), exporting only ltc_*
#                        through runtime/ltc_runtime.map (version node LTC_0.2)
#   ltc_runtime_archive  pkg/libltc_runtime.a: one relocatable object made of
#                        all of them, every symbol but ltc_* made local
#                        (cmake/static_archive.cmake)
#
# The in-tree static libraries (ltc_runtime, ltc_plan, ltc_support) that the
# tests and the compiler link stay as they are.

add_library(ltc_runtime_objs OBJECT ${LTC_RT_SRC} ${LTC_PLAN_SRC} ${LTC_SUPPORT_SRC})
set_target_properties(ltc_runtime_objs PROPERTIES C_VISIBILITY_PRESET hidden POSITION_INDEPENDENT_CODE ON)
target_include_directories(ltc_runtime_objs PRIVATE ${CMAKE_SOURCE_DIR}/runtime/include ${CMAKE_SOURCE_DIR})
# the same devices as the in-tree runtime (ltc_runtime's PUBLIC definitions)
get_target_property(LTC_RT_DEFS ltc_runtime INTERFACE_COMPILE_DEFINITIONS)
if(LTC_RT_DEFS)
  target_compile_definitions(ltc_runtime_objs PRIVATE ${LTC_RT_DEFS})
endif()
if(APPLE)
  target_compile_options(ltc_runtime_objs PRIVATE $<$<COMPILE_LANGUAGE:OBJC>:-fobjc-arc>)
endif()

add_library(ltc_runtime_shared SHARED $<TARGET_OBJECTS:ltc_runtime_objs>)
# libltc_runtime.so in the build directory itself: the Python package of
# another part of the project loads it from there (and from PREFIX/lib)
set_target_properties(ltc_runtime_shared PROPERTIES
  OUTPUT_NAME ltc_runtime
  VERSION ${PROJECT_VERSION}
  SOVERSION 0
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/runtime/ltc_runtime.map)
target_link_options(ltc_runtime_shared PRIVATE "LINKER:--version-script=${CMAKE_SOURCE_DIR}/runtime/ltc_runtime.map")
if(NOT LTC_SANITIZE AND NOT LTC_FUZZ)
  # every symbol resolved at link time: a source missing from the list is
  # a link error here, not a dlopen failure in a host (the sanitizers'
  # runtimes are resolved by the executable, so not with them)
  target_link_options(ltc_runtime_shared PRIVATE "LINKER:-z,defs")
endif()
target_link_libraries(ltc_runtime_shared PRIVATE ${CMAKE_DL_LIBS} Threads::Threads m)
if(APPLE)
  target_link_libraries(ltc_runtime_shared PRIVATE "-framework Metal" "-framework Foundation")
endif()

# The installed static archive.  Made by a script rather than
# add_library(STATIC): ar alone keeps every object's globals global, so a
# host's own `arena_alloc` or `plan_read` would clash with ours.
find_program(LTC_NM NAMES ${CMAKE_NM} nm)
set(LTC_RT_ARCHIVE ${CMAKE_BINARY_DIR}/pkg/libltc_runtime.a)
add_custom_command(
  OUTPUT ${LTC_RT_ARCHIVE}
  COMMAND ${CMAKE_COMMAND}
          -DCC=${CMAKE_C_COMPILER} -DNM=${LTC_NM} -DOBJCOPY=${CMAKE_OBJCOPY} -DAR=${CMAKE_AR}
          -DOUT=${LTC_RT_ARCHIVE} "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:ltc_runtime_objs>,|>"
          -P ${CMAKE_SOURCE_DIR}/cmake/static_archive.cmake
  DEPENDS ltc_runtime_objs $<TARGET_OBJECTS:ltc_runtime_objs> ${CMAKE_SOURCE_DIR}/cmake/static_archive.cmake
  COMMENT "Making the installed libltc_runtime.a (only ltc_* global)"
  VERBATIM)
add_custom_target(ltc_runtime_archive ALL DEPENDS ${LTC_RT_ARCHIVE})
