# What `cmake --install build` puts where (GNUInstallDirs): the executables
# alfwrapper and alfctl in bin/, the filter library and the runtime headers
# (the ones embedded in the executable) in share/alfwrapper/, the examples in
# share/doc/alfwrapper/examples/, bash completion where bash-completion looks
# for it by the command's name; the man pages are installed by Manual.cmake.
#
# `cmake --install build --strip` keeps the debug info apart, under
# lib/debug/.build-id/, where debuggers look it up by each executable's build
# id. Without --strip the executables are installed as built, which is what
# distribution packaging (dh_strip) expects.
include(GNUInstallDirs)

set(ALF_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/alfwrapper)

install(PROGRAMS $<TARGET_FILE:alfwrapper> $<TARGET_FILE:alfctl> DESTINATION ${CMAKE_INSTALL_BINDIR})
# Paths are taken when installing, so that --prefix and DESTDIR apply.
install(CODE "set(ALF_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(CODE "set(ALF_OBJCOPY \"${CMAKE_OBJCOPY}\")")
install(CODE "set(ALF_READELF \"${CMAKE_READELF}\")")
install(CODE [[
  set(bin "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${ALF_BINDIR}")
  if(CMAKE_INSTALL_DO_STRIP)
    foreach(program alfwrapper alfctl)
      execute_process(COMMAND ${ALF_READELF} --notes ${bin}/${program} OUTPUT_VARIABLE notes)
      string(REGEX MATCH "Build ID: ([0-9a-f]+)" found "${notes}")
      set(build_id "${CMAKE_MATCH_1}")
      if(build_id STREQUAL "")
        message(FATAL_ERROR "${program} has no build id: cannot place its debug info")
      endif()
      string(SUBSTRING "${build_id}" 0 2 id_dir)
      string(SUBSTRING "${build_id}" 2 -1 id_file)
      set(debug_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/debug/.build-id/${id_dir}")
      file(MAKE_DIRECTORY "${debug_dir}")
      message(STATUS "Installing: ${debug_dir}/${id_file}.debug")
      execute_process(COMMAND ${ALF_OBJCOPY} --only-keep-debug --compress-debug-sections
                              ${bin}/${program} ${debug_dir}/${id_file}.debug COMMAND_ERROR_IS_FATAL ANY)
      execute_process(COMMAND ${ALF_OBJCOPY} --strip-debug --strip-unneeded
                              --add-gnu-debuglink=${debug_dir}/${id_file}.debug ${bin}/${program}
                              COMMAND_ERROR_IS_FATAL ANY)
    endforeach()
  endif()
]])

install(DIRECTORY ${CMAKE_SOURCE_DIR}/filters/ DESTINATION ${ALF_INSTALL_DATADIR}/filters
        FILES_MATCHING PATTERN "*.c" PATTERN "README.md")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/runtime-headers/ DESTINATION ${ALF_INSTALL_DATADIR}/include)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        USE_SOURCE_PERMISSIONS)

# One script completes both tools; bash-completion loads it by the name typed.
install(FILES ${CMAKE_SOURCE_DIR}/completion/alfwrapper.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME alfwrapper)
install(CODE [[
  set(completions "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/bash-completion/completions")
  message(STATUS "Installing: ${completions}/alfctl -> alfwrapper")
  file(CREATE_LINK alfwrapper "${completions}/alfctl" SYMBOLIC)
]])
