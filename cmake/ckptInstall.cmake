# Installs the headers and the CMake package: find_package(ckpt) gives ckpt::ckpt, and
# find_package(ckpt COMPONENTS hdf5) also ckpt::hdf5 (the ckpt tool installs itself, tools/).
# The headers need no build, so `cmake --install` works on a tree that was only configured.
include(CMakePackageConfigHelpers)
set(CKPT_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ckpt)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ckpt EXPORT ckptTargets)
install(EXPORT ckptTargets NAMESPACE ckpt:: DESTINATION ${CKPT_PACKAGE_DIR})
if(CKPT_WITH_HDF5)
  # A separate export set, loaded by ckptConfig.cmake only when the hdf5 component is asked for.
  install(TARGETS ckpt_hdf5 EXPORT ckptHDF5Targets)
  install(EXPORT ckptHDF5Targets NAMESPACE ckpt:: DESTINATION ${CKPT_PACKAGE_DIR})
endif()

configure_package_config_file(cmake/ckptConfig.cmake.in ${PROJECT_BINARY_DIR}/ckptConfig.cmake
                              INSTALL_DESTINATION ${CKPT_PACKAGE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ckptConfigVersion.cmake COMPATIBILITY SameMinorVersion
                                 ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/ckptConfig.cmake ${PROJECT_BINARY_DIR}/ckptConfigVersion.cmake
              cmake/ckptFindHDF5Dependencies.cmake cmake/ckptFindHDF5.cmake cmake/ckptFindLibzip.cmake
              cmake/ckptFindZstd.cmake
        DESTINATION ${CKPT_PACKAGE_DIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ckpt)
