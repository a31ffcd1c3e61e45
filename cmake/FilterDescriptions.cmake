# Writes OUTPUT, a C++ table of the built-in filters' one-line descriptions
# (what --list-filters shows): each is the first line of the filter's source,
# "/* NAME: DESCRIPTION". Run as a script: cmake -DOUTPUT=... "-DSOURCES=a.c;b.c" -P
set(rows "")
foreach(source IN LISTS SOURCES)
  get_filename_component(name ${source} NAME_WE)
  file(READ ${source} head LIMIT 400)
  string(FIND "${head}" "\n" end)
  string(SUBSTRING "${head}" 0 ${end} first)
  string(LENGTH "/* ${name}: " prefix_length)
  string(SUBSTRING "${first}" 0 ${prefix_length} prefix)
  if(NOT prefix STREQUAL "/* ${name}: ")
    message(FATAL_ERROR "${source}:1: a library filter starts with its one-line description, "
                        "'/* ${name}: what it does', which alfwrapper --list-filters shows")
  endif()
  string(SUBSTRING "${first}" ${prefix_length} -1 text)
  string(STRIP "${text}" text)
  string(REGEX REPLACE "[.;:,]$" "" text "${text}")
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(APPEND rows "    {\"${name}\", \"${text}\"},\n")
endforeach()
file(WRITE ${OUTPUT}.new
  "// Generated from the first line of each filters/*.c by cmake/FilterDescriptions.cmake.\n"
  "#include \"compile/builtin_filters.hpp\"\n\n"
  "namespace alf {\n\n"
  "extern const BuiltinFilterDescription alf_builtin_filter_descriptions[] = {\n${rows}};\n"
  "extern const std::size_t alf_builtin_filter_descriptions_count =\n"
  "    sizeof alf_builtin_filter_descriptions / sizeof alf_builtin_filter_descriptions[0];\n\n"
  "}  // namespace alf\n")
configure_file(${OUTPUT}.new ${OUTPUT} COPYONLY)
file(REMOVE ${OUTPUT}.new)
