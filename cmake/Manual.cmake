# The man pages, written in scdoc (man/*.scd) and turned into roff when the
# project is built: build/man/alfwrapper.1, alfctl.1, alfwrapper-filter.7.
find_program(SCDOC_PROGRAM scdoc)
if(NOT SCDOC_PROGRAM)
  message(FATAL_ERROR "scdoc not found: it makes the man pages (scripts/setup installs it)")
endif()

set(ALF_MAN_PAGES "")
foreach(page alfwrapper.1 alfctl.1 alfwrapper-filter.7)
  set(source ${CMAKE_SOURCE_DIR}/man/${page}.scd)
  set(output ${CMAKE_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "\"$1\" < \"$2\" > \"$3\"" scdoc ${SCDOC_PROGRAM} ${source} ${output}
    DEPENDS ${source}
    COMMENT "Writing the man page ${page}"
    VERBATIM)
  list(APPEND ALF_MAN_PAGES ${output})
  string(REGEX REPLACE ".*\\." "" section ${page})
  install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${ALF_MAN_PAGES})
