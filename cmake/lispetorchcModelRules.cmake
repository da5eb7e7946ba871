# lispetorchcModelRules.cmake: lispetorchc_add_model, installed with the
# CMake package (lispetorchcConfig.cmake includes it; docs/packaging.md).
#
#   lispetorchc_add_model(<name> SOURCE model.lsp
#                         [ENTRY f...] [TARGET cpu|cuda|opencl|metal] [DTYPE f32|bf16|f16]
#                         [WEIGHTS file.safetensors] [EMBED_WEIGHTS] [OPTIONS opt...])
#
# Compiles the model at build time into ${CMAKE_CURRENT_BINARY_DIR}/<name>/<name>.so
# (and <name>.safetensors beside it, unless EMBED_WEIGHTS), and again
# whenever the script, any file it loads, the weights or the compiler
# change: the compiler writes a depfile (--depfile) that Ninja and the
# Makefile generators read.  Makes:
#
#   <name>           an INTERFACE target to link: it brings lispetorchc::runtime,
#                    the build of the model, and the compile definitions
#                    <NAME>_MODEL_PATH and <NAME>_WEIGHTS_PATH (string literals;
#                    the weights path is "" with EMBED_WEIGHTS), <NAME> being
#                    <name> as a C identifier in upper case
#   <name>_compile   the custom target that compiles it (part of ALL)
#
# and sets the properties LTC_MODEL_FILE and LTC_MODEL_WEIGHTS on <name>.
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "lispetorchc_add_model needs CMake 3.20 or later (depfiles with every generator)")
endif()

function(lispetorchc_add_model name)
  cmake_parse_arguments(PARSE_ARGV 1 LTCM "EMBED_WEIGHTS" "SOURCE;TARGET;DTYPE;WEIGHTS" "ENTRY;OPTIONS")
  if(LTCM_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lispetorchc_add_model(${name}): unknown arguments: ${LTCM_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT LTCM_SOURCE)
    message(FATAL_ERROR "lispetorchc_add_model(${name}): SOURCE model.lsp is required")
  endif()
  if(NOT TARGET lispetorchc::compiler)
    message(FATAL_ERROR "lispetorchc_add_model(${name}): no lispetorchc::compiler (find_package(lispetorchc) first)")
  endif()
  if(LTCM_TARGET AND NOT LTCM_TARGET MATCHES "^(cpu|cuda|opencl|metal)$")
    message(FATAL_ERROR "lispetorchc_add_model(${name}): TARGET ${LTCM_TARGET}: expected cpu, cuda, opencl or metal")
  endif()

  get_filename_component(src "${LTCM_SOURCE}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(so ${dir}/${name}.so)
  set(depfile ${dir}/${name}.d)
  set(outputs ${so})
  set(weights_out "")
  set(args ${src} -o ${so} --depfile ${depfile})
  foreach(e IN LISTS LTCM_ENTRY)
    list(APPEND args --entry ${e})
  endforeach()
  if(LTCM_TARGET)
    list(APPEND args --target ${LTCM_TARGET})
  endif()
  if(LTCM_DTYPE)
    list(APPEND args --dtype ${LTCM_DTYPE})
  endif()
  set(weights_in "")
  if(LTCM_WEIGHTS)
    get_filename_component(weights_in "${LTCM_WEIGHTS}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND args --weights ${weights_in})
  endif()
  if(LTCM_EMBED_WEIGHTS)
    list(APPEND args --embed-weights)
  else()
    # the compiler writes the weights beside the library
    set(weights_out ${dir}/${name}.safetensors)
    list(APPEND outputs ${weights_out})
  endif()
  list(APPEND args ${LTCM_OPTIONS})

  # The depfile names the files the script loads, which only the compiler
  # knows; generators that cannot read one rebuild on the script alone.
  set(depfile_args "")
  if(CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
    set(depfile_args DEPFILE ${depfile})
  else()
    message(WARNING "lispetorchc_add_model(${name}): the ${CMAKE_GENERATOR} generator reads no depfile: "
                    "a change of a file the script loads does not rebuild the model")
  endif()
  file(MAKE_DIRECTORY ${dir})
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND lispetorchc::compiler ${args}
    DEPENDS ${src} ${weights_in} lispetorchc::compiler
    ${depfile_args}
    WORKING_DIRECTORY ${dir}
    COMMENT "lispetorchc: compiling ${LTCM_SOURCE} into ${name}.so"
    VERBATIM)
  add_custom_target(${name}_compile ALL DEPENDS ${outputs})

  string(MAKE_C_IDENTIFIER "${name}" id)
  string(TOUPPER "${id}" id)
  add_library(${name} INTERFACE)
  # an interface library's dependencies are followed by every target that
  # links it: they build the model first
  add_dependencies(${name} ${name}_compile)
  target_link_libraries(${name} INTERFACE lispetorchc::runtime)
  target_compile_definitions(${name} INTERFACE "${id}_MODEL_PATH=\"${so}\"" "${id}_WEIGHTS_PATH=\"${weights_out}\"")
  set_target_properties(${name} PROPERTIES LTC_MODEL_FILE "${so}" LTC_MODEL_WEIGHTS "${weights_out}")
endfunction()
