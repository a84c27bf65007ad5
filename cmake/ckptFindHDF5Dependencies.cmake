# Finds what ckpt::hdf5 links besides ckpt::ckpt: the libhdf5 C library, libzip (Keras 3 .keras
# files are zip archives), libzstd (the HDF5 zstd filter) and zlib (ckpt inflates deflate chunks
# itself; libhdf5-dev already depends on zlib's development package, so it is there wherever
# libhdf5 is). zlib comes from CMake's FindZLIB as ZLIB::ZLIB. Sets CKPT_HDF5_DEPENDENCIES_FOUND,
# and CKPT_HDF5_DEPENDENCIES_MISSING to the Debian packages that would provide what is missing.
# Used by ckpt's own build and by the installed ckptConfig.cmake, so both look the same way.
include("${CMAKE_CURRENT_LIST_DIR}/ckptFindHDF5.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/ckptFindLibzip.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/ckptFindZstd.cmake")
if(NOT TARGET ZLIB::ZLIB)
  find_package(ZLIB QUIET)
endif()

set(CKPT_HDF5_DEPENDENCIES_MISSING "")
if(NOT CKPT_HDF5_FOUND)
  list(APPEND CKPT_HDF5_DEPENDENCIES_MISSING libhdf5-dev)
endif()
if(NOT CKPT_LIBZIP_FOUND)
  list(APPEND CKPT_HDF5_DEPENDENCIES_MISSING libzip-dev)
endif()
if(NOT CKPT_ZSTD_FOUND)
  list(APPEND CKPT_HDF5_DEPENDENCIES_MISSING libzstd-dev)
endif()
if(NOT TARGET ZLIB::ZLIB)
  list(APPEND CKPT_HDF5_DEPENDENCIES_MISSING zlib1g-dev)
endif()
if(CKPT_HDF5_DEPENDENCIES_MISSING)
  set(CKPT_HDF5_DEPENDENCIES_FOUND FALSE)
else()
  set(CKPT_HDF5_DEPENDENCIES_FOUND TRUE)
endif()
