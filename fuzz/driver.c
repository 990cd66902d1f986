/*
 * A main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every file named on the command line, and on every file (not
 * starting with '.') of every directory named there, in name order. This is
 * how the seed corpus runs under any compiler as an ordinary test; a broken
 * invariant aborts the program.
 *
 *   fuzz_graph_corpus fuzz/corpus/graph
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t size = 0, capacity = 0, n;

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    do {
        if (size == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            data = realloc(data, capacity);
            if (data == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                exit(1);
            }
        }
        n = fread(data + size, 1, capacity - size, f);
        size += n;
    } while (n > 0);
    if (ferror(f)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t run_directory(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t count = 0, capacity = 0, runs = 0, i;

    if (d == NULL) {
        perror(dir);
        exit(1);
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            names = realloc(names, capacity * sizeof *names);
            if (names == NULL) {
                fprintf(stderr, "%s: out of memory\n", dir);
                exit(1);
            }
        }
        names[count] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (names[count] == NULL) {
            fprintf(stderr, "%s: out of memory\n", dir);
            exit(1);
        }
        sprintf(names[count], "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    if (count > 0)
        qsort(names, count, sizeof *names, compare_names);
    for (i = 0; i < count; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            runs += run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return runs;
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        runs += S_ISDIR(st.st_mode) ? run_directory(argv[i]) : run_file(argv[i]);
    }
    if (runs == 0) {
        fprintf(stderr, "%s: no inputs\n", argv[0]);
        return 1;
    }
    printf("%zu inputs ran\n", runs);
    return 0;
}
