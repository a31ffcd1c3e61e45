# Links Clang/LLVM. Debian's static clang targets drag in the shared libLLVM,
# whose load alone costs ~20 ms a launch; linking the archives by path avoids it.
set(ALF_CLANG_LIBS clangCodeGen clangFrontend clangSerialization clangDriver
    clangParse clangSema clangAnalysis clangASTMatchers clangEdit clangAST
    clangLex clangBasic)
set(ALF_LLVM_COMPONENTS bpf codegen ipo irreader linker option passes
    profiledata coverage frontendopenmp instrumentation target mc support lto
    objcarcopts)

function(alf_link_llvm target)
  if(ALF_STATIC_LLVM)
    execute_process(COMMAND ${LLVM_TOOLS_BINARY_DIR}/llvm-config --link-static
                            --libfiles ${ALF_LLVM_COMPONENTS}
                    OUTPUT_VARIABLE llvm_libs OUTPUT_STRIP_TRAILING_WHITESPACE
                    COMMAND_ERROR_IS_FATAL ANY)
    separate_arguments(llvm_libs UNIX_COMMAND "${llvm_libs}")
    # llvm-config lists Polly's archives, which Debian does not ship; the one
    # hook they provide is stubbed in compiler.cpp, and so is the terminal
    # database (libtinfo) LLVM asks about colours.
    list(FILTER llvm_libs EXCLUDE REGEX "Polly")
    set(clang_libs "")
    foreach(lib IN LISTS ALF_CLANG_LIBS)
      list(APPEND clang_libs ${LLVM_LIBRARY_DIR}/lib${lib}.a)
    endforeach()
    target_link_libraries(${target} PUBLIC
      -Wl,--start-group ${clang_libs} ${llvm_libs} ${alf_zlib_ARCHIVE} -Wl,--end-group
      pthread dl rt m)
    # Their static initializers run on first use, not at every start (lld only).
    if(LLD_PROGRAM)
      target_link_options(${target} PUBLIC -Wl,-T,${CMAKE_SOURCE_DIR}/cmake/lazy-llvm-init.ld)
      target_compile_definitions(${target} PRIVATE ALF_LAZY_LLVM_INIT)
    endif()
  else()
    find_package(Clang 14 REQUIRED CONFIG HINTS ${LLVM_ROOT}/lib/cmake/clang)
    target_link_libraries(${target} PUBLIC clang-cpp LLVM)
  endif()
endfunction()
