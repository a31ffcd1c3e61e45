/* The drop log's functions of <alfwrapper/stats.h>, compiled once when
 * alfwrapper is built and linked into every filter alfwrapper compiles
 * (src/compile/log_library.cpp): the filter's own compile declares them
 * only (ALF_LOG_PRECOMPILED), and they refer to the filter's maps and
 * read-only data, which the headers declare here (ALF_LOG_LIBRARY). */
#define ALF_LOG_LIBRARY
#include <alfwrapper/stats.h>
