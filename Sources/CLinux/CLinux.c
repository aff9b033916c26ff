// CLinux is a header of inline functions; SwiftPM needs one source file to build it as a C target.
#include "CLinux.h"
