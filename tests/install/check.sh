#!/bin/sh
# The installation test: installs a build into a temporary prefix and builds
# example.c against it the ways a user would, then runs what it built.
#
#   check.sh prefix     WORK BUILD VERSION LIBDIR CMAKE CC DEBUG
#   check.sh cmake      WORK BUILD VERSION LIBDIR CMAKE CC DEBUG
#   check.sh pkg-config WORK BUILD VERSION LIBDIR CMAKE CC DEBUG
#
# prefix: `cmake --install BUILD --prefix WORK/prefix`, then checks the files:
# the header, librcgc.a, the shared library's SONAME chain, rcgc.pc, the CMake
# package files and the rcgc program. cmake: a CMake project using
# find_package(rcgc) (tests/install/CMakeLists.txt) builds example.c against
# rcgc::rcgc, rcgc::rcgc_static and rcgc::rcgc_shared. pkg-config: a plain
# `CC $(pkg-config --cflags --libs rcgc)` build, and one with librcgc.a. Every
# program must print the expected lines; the shared-library ones must have
# loaded the installed librcgc.so. DEBUG is ON when the library is the debug
# build (its users must be compiled with -DRCGC_DEBUG=1). Exit status 77: the
# test cannot run here (no pkg-config).
set -eu

mode=$1 work=$2 build=$3 version=$4 libdir=$5 cmake=$6 cc=$7 debug=$8
here=$(cd "$(dirname "$0")" && pwd)
prefix=$work/prefix
major=${version%%.*}
unset DESTDIR

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

expected_output() {
    printf '%s\n' "rcgc $version" \
        "refcount after incref: 2" \
        "cycle collected: 2" \
        "weak reference callback: 1, referent gone: yes"
}

# run PROGRAM shared|static: runs it, compares its output, and checks which
# rcgc library it loaded.
run() {
    echo "== $1"
    status=0
    "$1" > "$1.out" 2>&1 || status=$?
    [ "$status" -eq 0 ] || { cat "$1.out"; fail "$1 exited with status $status"; }
    expected_output > "$1.expected"
    diff -u "$1.expected" "$1.out" || fail "$1: unexpected output"
    if command -v ldd > /dev/null 2>&1; then
        loaded=$(ldd "$1" | grep 'librcgc' || true)
        case $2 in
        shared)
            case $loaded in
            *"$prefix/$libdir/librcgc.so.$major "*) ;;
            *) fail "$1 did not load $prefix/$libdir/librcgc.so.$major: ${loaded:-no librcgc}" ;;
            esac ;;
        static)
            [ -z "$loaded" ] || fail "$1 should not load a shared librcgc: $loaded" ;;
        esac
    fi
    cat "$1.out"
}

case $mode in
prefix)
    rm -rf "$work"
    mkdir -p "$work"
    "$cmake" --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 ||
        { cat "$work/install.log"; fail "cmake --install failed"; }
    cat "$work/install.log"
    cmp "$here/../../include/rcgc.h" "$prefix/include/rcgc.h" || fail "installed rcgc.h differs"
    for f in "$libdir/librcgc.a" "$libdir/librcgc.so.$version" "$libdir/pkgconfig/rcgc.pc" \
             "$libdir/cmake/rcgc/rcgcConfig.cmake" "$libdir/cmake/rcgc/rcgcConfigVersion.cmake" \
             "$libdir/cmake/rcgc/rcgcTargets.cmake" bin/rcgc; do
        [ -f "$prefix/$f" ] || fail "not installed: $f"
    done
    [ "$(readlink "$prefix/$libdir/librcgc.so")" = "librcgc.so.$major" ] ||
        fail "librcgc.so does not link to librcgc.so.$major"
    [ "$(readlink "$prefix/$libdir/librcgc.so.$major")" = "librcgc.so.$version" ] ||
        fail "librcgc.so.$major does not link to librcgc.so.$version"
    if command -v objdump > /dev/null 2>&1; then
        soname=$(objdump -p "$prefix/$libdir/librcgc.so.$version" | awk '$1 == "SONAME" { print $2 }')
        [ "$soname" = "librcgc.so.$major" ] || fail "SONAME is '$soname', expected librcgc.so.$major"
        echo "SONAME $soname"
    fi
    out=$("$prefix/bin/rcgc" --version) || fail "rcgc --version failed"
    [ "$out" = "rcgc $version" ] || fail "rcgc --version printed '$out'"
    echo "$out"
    grep -q "^prefix=$prefix\$" "$prefix/$libdir/pkgconfig/rcgc.pc" ||
        fail "rcgc.pc does not name the prefix $prefix"
    ;;
cmake)
    dir=$work/find_package
    rm -rf "$dir"
    "$cmake" -S "$here" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DRCGC_VERSION="$version" > "$work/find_package.log" 2>&1 ||
        { cat "$work/find_package.log"; fail "configuring the find_package(rcgc) project failed"; }
    "$cmake" --build "$dir" >> "$work/find_package.log" 2>&1 ||
        { cat "$work/find_package.log"; fail "building the find_package(rcgc) project failed"; }
    run "$dir/example_default" static
    run "$dir/example_static" static
    run "$dir/example_shared" shared
    ;;
pkg-config)
    if ! command -v pkg-config > /dev/null 2>&1; then
        echo "SKIP: pkg-config is not installed"
        exit 77
    fi
    PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
    export PKG_CONFIG_PATH
    pcversion=$(pkg-config --modversion rcgc) || fail "pkg-config does not find rcgc"
    [ "$pcversion" = "$version" ] || fail "pkg-config --modversion rcgc: $pcversion"
    cflags=$(pkg-config --cflags rcgc)
    libs=$(pkg-config --libs rcgc)
    other=$(pkg-config --libs-only-other rcgc)
    pclibdir=$(pkg-config --variable=libdir rcgc)
    echo "cflags: $cflags"
    echo "libs: $libs"
    case "$debug $cflags" in
    ON*-DRCGC_DEBUG=1*|OFF*) ;;
    *) fail "the debug build's Cflags lack -DRCGC_DEBUG=1" ;;
    esac
    case "$debug $cflags" in
    OFF*-DRCGC_DEBUG*) fail "Cflags of a normal build define RCGC_DEBUG" ;;
    esac
    dir=$work/pkg-config
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -o "$dir/example_shared" "$here/example.c" $libs ||
        fail "cc \$(pkg-config --cflags --libs rcgc) failed"
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -o "$dir/example_static" "$here/example.c" \
        "$pclibdir/librcgc.a" $other ||
        fail "cc with \$(pkg-config --variable=libdir rcgc)/librcgc.a failed"
    LD_LIBRARY_PATH=$pclibdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    run "$dir/example_shared" shared
    run "$dir/example_static" static
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
