# Finds the serial libhdf5 C library as the imported target ckpt_hdf5::libhdf5 and sets
# CKPT_HDF5_FOUND. ckpt calls the C API only, so libhdf5's C++ library is not needed.
# CMake's FindHDF5 is not used: on Debian it probes the h5cc compiler wrapper and needs the C
# language enabled, which a C++-only consumer project does not have. pkg-config's hdf5-serial
# (then hdf5) module gives the directories; find_path/find_library do the rest, so a machine
# without pkg-config still works when HDF5 sits in a default or CMAKE_PREFIX_PATH location.
if(TARGET ckpt_hdf5::libhdf5)
  set(CKPT_HDF5_FOUND TRUE)
  return()
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CKPT_HDF5_PC QUIET hdf5-serial)
  if(NOT CKPT_HDF5_PC_FOUND)
    pkg_check_modules(CKPT_HDF5_PC QUIET hdf5)
  endif()
endif()

find_path(CKPT_HDF5_INCLUDE_DIR hdf5.h HINTS ${CKPT_HDF5_PC_INCLUDE_DIRS} PATH_SUFFIXES hdf5/serial)
find_library(CKPT_HDF5_C_LIBRARY NAMES hdf5 hdf5_serial HINTS ${CKPT_HDF5_PC_LIBRARY_DIRS}
             PATH_SUFFIXES hdf5/serial)
mark_as_advanced(CKPT_HDF5_INCLUDE_DIR CKPT_HDF5_C_LIBRARY)

if(CKPT_HDF5_INCLUDE_DIR AND CKPT_HDF5_C_LIBRARY)
  add_library(ckpt_hdf5::libhdf5 INTERFACE IMPORTED)
  set_target_properties(ckpt_hdf5::libhdf5 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CKPT_HDF5_INCLUDE_DIR}"
                                                      INTERFACE_LINK_LIBRARIES "${CKPT_HDF5_C_LIBRARY}")
  set(CKPT_HDF5_FOUND TRUE)
else()
  set(CKPT_HDF5_FOUND FALSE)
endif()
