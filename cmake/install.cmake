# install.cmake: `cmake --install build --prefix P` (docs/packaging.md).
#
#   P/bin/lispetorchc
#   P/lib/libltc_runtime.so.0.2.0, .so.0, .so   (only ltc_* exported)
#   P/lib/libltc_runtime.a                      (only ltc_* global)
#   P/lib/libltc_embed.so.0.2.0, .so.0, .so     (the embedding API; only ltc_*)
#   P/include/lispetorchc/runtime.h, embed.h, P/include/dlpack/dlpack.h
#   P/lib/cmake/lispetorchc/                    find_package(lispetorchc 0.2)
#   P/lib/pkgconfig/lispetorchc.pc              pkg-config lispetorchc
#   P/share/man/man1/lispetorchc.1
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LTC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lispetorchc)

# The compiler finds its own libraries (LLVM, NVRTC) where it was linked
# against them: an installed copy has no build-tree RPATH any more.
set_target_properties(lispetorchc PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS lispetorchc EXPORT lispetorchcTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The shared runtime, exported as lispetorchc::runtime; its headers are the
# installed include directory.
set_target_properties(ltc_runtime_shared PROPERTIES EXPORT_NAME runtime)
target_include_directories(ltc_runtime_shared INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
install(TARGETS ltc_runtime_shared EXPORT lispetorchcTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${LTC_RT_ARCHIVE} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/runtime/include/lispetorchc/runtime.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lispetorchc)
# The embedding API: its header beside runtime.h and libltc_embed.so,
# exported as lispetorchc::embed (docs/embedding.md)
if(TARGET ltc_embed_shared)
  set_target_properties(ltc_embed_shared PROPERTIES EXPORT_NAME embed INSTALL_RPATH_USE_LINK_PATH TRUE)
  target_include_directories(ltc_embed_shared INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  install(TARGETS ltc_embed_shared EXPORT lispetorchcTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${CMAKE_SOURCE_DIR}/runtime/include/lispetorchc/embed.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lispetorchc)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/runtime/include/dlpack/dlpack.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dlpack)

set_target_properties(lispetorchc PROPERTIES EXPORT_NAME compiler)
install(EXPORT lispetorchcTargets NAMESPACE lispetorchc:: DESTINATION ${LTC_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/lispetorchcConfig.cmake.in
  ${CMAKE_BINARY_DIR}/pkg/lispetorchcConfig.cmake
  INSTALL_DESTINATION ${LTC_CMAKE_DIR} PATH_VARS CMAKE_INSTALL_LIBDIR)
# 0.x: a minor release may change the interface, so 0.2 accepts 0.2.* only
write_basic_package_version_file(${CMAKE_BINARY_DIR}/pkg/lispetorchcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/pkg/lispetorchcConfig.cmake
              ${CMAKE_BINARY_DIR}/pkg/lispetorchcConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/cmake/lispetorchcModelRules.cmake
        DESTINATION ${LTC_CMAKE_DIR})

# pkg-config: the shared runtime (Libs), or with --static the archive and
# what it needs (Libs.private)
file(RELATIVE_PATH LTC_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" LTC_PC_TO_PREFIX "${LTC_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/lispetorchc.pc.in ${CMAKE_BINARY_DIR}/pkg/lispetorchc.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/pkg/lispetorchc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${CMAKE_SOURCE_DIR}/docs/lispetorchc.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
