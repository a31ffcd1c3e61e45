# Embeds files into a generated C++ source as byte arrays, keyed by their path
# relative to BASE, so the binary carries them without any file on disk.
function(alf_embed_files OUTPUT SYMBOL BASE)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${OUTPUT} -DSYMBOL=${SYMBOL} -DBASE=${BASE}
            "-DFILES=${files}" -P ${CMAKE_SOURCE_DIR}/cmake/EmbedScript.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/EmbedScript.cmake
    COMMENT "Embedding ${SYMBOL}"
    VERBATIM)
endfunction()
