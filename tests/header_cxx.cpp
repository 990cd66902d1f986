// include/rcgc.h compiled as C++ (tests/cmake/cxx.cmake): an embedder's C++
// code includes the header and runs its inline functions, under the warnings
// a strict C++ project builds with. Built, not run: what it checks is that the
// header compiles without a warning.
#include "rcgc.h"

namespace {

const rcgc_type box_type = { "box", sizeof(void *), nullptr, nullptr, nullptr };

}  // namespace

int rcgc_header_cxx_use(rcgc_heap *heap);

int rcgc_header_cxx_use(rcgc_heap *heap)
{
    void *obj = rcgc_new(heap, &box_type);
    if (obj == nullptr)
        return -1;
    rcgc_incref(obj);
    rcgc_xincref(obj);
    rcgc_xdecref(obj);
    rcgc_decref(obj);
    rcgc_decref(obj);
    return 0;
}
