/*
 * The page of `rcgc replay --html` (html.h): a style sheet, a header with
 * the navigation and the legend, one <section> per operation (all but the
 * current one hidden), and a short script for the keys. Everything is
 * inline, so the file can be opened from anywhere.
 */
#include "html.h"

#include <string.h>

void html_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#212529}\n"
    "header{position:sticky;top:0;padding:8px 16px;background:#f1f3f5;border-bottom:1px solid #dee2e6;"
    "display:flex;gap:18px;align-items:center;flex-wrap:wrap;z-index:1}\n"
    "header h1{font-size:16px;margin:0}\n"
    ".stopped{margin:0;color:#c92a2a}\n"
    "nav button{font-size:16px;padding:2px 10px}\n"
    "#position{display:inline-block;min-width:9em;text-align:center;font-variant-numeric:tabular-nums}\n"
    ".help{font-size:12px;color:#495057}\n"
    ".legend span{display:inline-block;padding:1px 7px;margin:2px 3px;border:1px solid #495057;"
    "border-radius:5px;font-size:12px}\n"
    "main{padding:10px 16px}\n"
    "section.frame h2{font-size:15px;margin:6px 0 8px}\n"
    "code.op{background:#e7f5ff;padding:2px 6px;border-radius:4px}\n"
    "pre.events{background:#f8f9fa;border:1px solid #dee2e6;padding:8px;max-height:38vh;overflow:auto;"
    "font-size:12px;margin:0 0 10px}\n"
    ".no-events{font-size:13px;color:#868e96;margin:0 0 10px}\n"
    ".pictures{display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start}\n"
    "figure{margin:0;border:1px solid #dee2e6;border-radius:6px;padding:6px;overflow:auto;max-width:100%}\n"
    "figure.gc{border-color:#c92a2a}\n"
    "figcaption{font-size:12px;color:#495057;margin-bottom:4px}\n"
    "figure svg{max-width:100%;height:auto}\n";

static const char legend[] =
    "<div class=\"legend\">"
    "<span style=\"background:#fff3bf\">generation 0</span>"
    "<span style=\"background:#ffd8a8\">generation 1</span>"
    "<span style=\"background:#e5dbff\">generation 2</span>"
    "<span style=\"background:#a5d8ff\">frozen</span>"
    "<span style=\"background:#f1f3f5\">untracked</span>"
    "<span style=\"border-style:double;border-width:3px\">finalizer has run</span>"
    "<span style=\"border-color:#c92a2a;border-width:2px;color:#c92a2a\">unreachable</span>"
    "<span style=\"border-radius:10px\">weak reference (dashed arrow)</span>"
    "<span style=\"border:none\">rc: reference count</span>"
    "</div>\n";

static const char script[] =
    "(function () {\n"
    "  var frames = document.querySelectorAll('section.frame');\n"
    "  var position = document.getElementById('position');\n"
    "  var cur = 0;\n"
    "  function show(i) {\n"
    "    if (frames.length === 0) return;\n"
    "    i = Math.max(0, Math.min(frames.length - 1, i));\n"
    "    for (var k = 0; k < frames.length; k++) frames[k].hidden = k !== i;\n"
    "    cur = i;\n"
    "    document.body.setAttribute('data-step', String(i + 1));\n"
    "    position.textContent = 'step ' + (i + 1) + ' of ' + frames.length;\n"
    "  }\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    if (e.key === 'ArrowRight') show(cur + 1);\n"
    "    else if (e.key === 'ArrowLeft') show(cur - 1);\n"
    "    else if (e.key === 'Home') show(0);\n"
    "    else if (e.key === 'End') show(frames.length - 1);\n"
    "    else return;\n"
    "    e.preventDefault();\n"
    "  });\n"
    "  document.getElementById('prev').addEventListener('click', function () { show(cur - 1); });\n"
    "  document.getElementById('next').addEventListener('click', function () { show(cur + 1); });\n"
    "  var step = /step=(\\d+)/.exec(location.hash);\n"
    "  show(step ? parseInt(step[1], 10) - 1 : 0);\n"
    "  var keys = /keys=([RLHE]*)/.exec(location.hash);\n"
    "  if (keys) {\n"
    "    var names = { R: 'ArrowRight', L: 'ArrowLeft', H: 'Home', E: 'End' };\n"
    "    for (var j = 0; j < keys[1].length; j++)\n"
    "      document.dispatchEvent(new KeyboardEvent('keydown', { key: names[keys[1][j]], bubbles: true, cancelable: true }));\n"
    "    document.body.setAttribute('data-keys', keys[1]);\n"
    "  }\n"
    "})();\n";

int html_write(FILE *out, const char *title, const char *renderer, const struct html_frame *frames, size_t n,
               const char *stopped)
{
    size_t i;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>rcgc replay: ", out);
    html_escape(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n", style);
    fprintf(out, "<body data-step=\"%d\" data-steps=\"%zu\">\n", n ? 1 : 0, n);
    fputs("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
          "<marker id=\"rcgc-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\""
          " orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#495057\"/></marker></defs></svg>\n",
          out);
    fputs("<header>\n<h1>rcgc replay: ", out);
    html_escape(out, title);
    fprintf(out, "</h1>\n<nav><button id=\"prev\" title=\"previous operation (left arrow)\">&larr;</button>"
            "<span id=\"position\">step %d of %zu</span>"
            "<button id=\"next\" title=\"next operation (right arrow)\">&rarr;</button></nav>\n", n ? 1 : 0, n);
    fputs("<span class=\"help\">Left and right arrow keys: previous and next operation; Home, End: first and last."
          " Pictures: ", out);
    html_escape(out, renderer);
    fputs(".</span>\n", out);
    fputs(legend, out);
    if (stopped != NULL) {
        fputs("<p class=\"stopped\">The replay stopped at an error: <code>", out);
        html_escape(out, stopped);
        fputs("</code>. The page shows the operations before it.</p>\n", out);
    }
    fputs("</header>\n<main>\n", out);
    if (n == 0 && stopped == NULL)
        fputs("<p>The trace has no operations.</p>\n", out);
    for (i = 0; i < n; i++) {
        const struct html_frame *f = &frames[i];
        fprintf(out, "<section class=\"frame\" id=\"step-%zu\" data-step=\"%zu\"%s>\n", i + 1, i + 1,
                i ? " hidden" : "");
        fprintf(out, "<h2>Step %zu of %zu: <code class=\"op\">", i + 1, n);
        html_escape(out, f->op != NULL ? f->op : "?");
        fputs("</code></h2>\n", out);
        if (f->events == NULL) {
            fputs("<p class=\"no-events\">Its events were not kept: out of memory.</p>\n", out);
        } else if (f->events[0] != '\0') {
            fputs("<pre class=\"events\">", out);
            html_escape(out, f->events);
            fputs("</pre>\n", out);
        } else {
            fputs("<p class=\"no-events\">No events.</p>\n", out);
        }
        fputs("<div class=\"pictures\">\n", out);
        if (f->gc_svg != NULL) {
            fprintf(out, "<figure class=\"gc\"><figcaption>As the collection of generation %d found the heap:"
                    " unreachable objects have a red border</figcaption>\n", f->gc_generation);
            fputs(f->gc_svg, out);
            fputs("</figure>\n", out);
        }
        fputs("<figure class=\"after\"><figcaption>The heap after the operation</figcaption>\n", out);
        fputs(f->svg != NULL ? f->svg : "<p>Not drawn: out of memory.</p>", out);
        fputs("</figure>\n</div>\n</section>\n", out);
    }
    fprintf(out, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", script);
    return fflush(out) != 0 || ferror(out) ? -1 : 0;
}
