// The two tools of the one executable; multicall.cpp picks one by the name
// the executable was started as.
#pragma once

namespace alf {

int alfwrapper_main(int argc, char **argv);
int alfctl_main(int argc, char **argv);

}  // namespace alf
