# Finds libzip (Keras 3 ".keras" files are zip archives) as the imported target ckpt_libzip::zip
# and sets CKPT_LIBZIP_FOUND. libzip's own CMake package is not used: on Debian it refers to the
# zipcmp/zipmerge/ziptool programs of another package (libzip-tools) and fails without them.
if(TARGET ckpt_libzip::zip)
  set(CKPT_LIBZIP_FOUND TRUE)
  return()
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CKPT_LIBZIP_PC QUIET libzip)
endif()
find_path(CKPT_LIBZIP_INCLUDE_DIR zip.h HINTS ${CKPT_LIBZIP_PC_INCLUDE_DIRS})
find_library(CKPT_LIBZIP_LIBRARY NAMES zip HINTS ${CKPT_LIBZIP_PC_LIBRARY_DIRS})
mark_as_advanced(CKPT_LIBZIP_INCLUDE_DIR CKPT_LIBZIP_LIBRARY)

if(CKPT_LIBZIP_INCLUDE_DIR AND CKPT_LIBZIP_LIBRARY)
  add_library(ckpt_libzip::zip INTERFACE IMPORTED)
  set_target_properties(ckpt_libzip::zip PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CKPT_LIBZIP_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CKPT_LIBZIP_LIBRARY}")
  set(CKPT_LIBZIP_FOUND TRUE)
else()
  set(CKPT_LIBZIP_FOUND FALSE)
endif()
