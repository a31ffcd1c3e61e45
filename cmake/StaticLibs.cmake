# libbpf, libelf and zlib linked from their static archives (libc and libm
# stay shared): each shared library costs every launch its loading,
# relocation and symbol lookup. Targets alf_libbpf (with libelf and zlib)
# and alf_zlib.
function(alf_static_archive target archive package)
  find_library(${target}_ARCHIVE NAMES ${archive} HINTS ${ARGN})
  if(NOT ${target}_ARCHIVE)
    message(FATAL_ERROR "${archive} not found: install ${package} (scripts/setup installs every build dependency)")
  endif()
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${${target}_ARCHIVE})
endfunction()

alf_static_archive(alf_zlib libz.a zlib1g-dev)
alf_static_archive(alf_libelf libelf.a libelf-dev)
set_target_properties(alf_libelf PROPERTIES INTERFACE_LINK_LIBRARIES alf_zlib)
alf_static_archive(alf_libbpf libbpf.a libbpf-dev ${LIBBPF_LIBRARY_DIRS})
set_target_properties(alf_libbpf PROPERTIES
  INTERFACE_LINK_LIBRARIES alf_libelf
  INTERFACE_INCLUDE_DIRECTORIES "${LIBBPF_INCLUDE_DIRS}")
