"""What the build's embedding scripts share (src/migrate/embed.py for the
migrations, src/api/embed_web.py for the web UI): files as C byte arrays, and
writing the generated C file and its depfile. The generated file is only
rewritten when its text changes, so that a run that finds nothing new does
not make ninja recompile it; the depfile names every file and directory read,
so that adding, editing or removing one re-runs the script.
"""
import os


def c_bytes(data):
    """The bytes of data as the body of a C array initialiser, 16 a line.
    A trailing NUL keeps the array non-empty for an empty file; callers do
    not count it in the length."""
    out = []
    for i in range(0, len(data), 16):
        out.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
    out.append("    0x00")
    return "\n".join(out)


def _depfile_escape(path):
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")


def write_generated(out, lines, depfile, deps):
    """Writes lines to out (when the text differs from what is there) and
    the depfile that makes out depend on deps."""
    text = "\n".join(lines) + "\n"
    old = None
    if os.path.exists(out):
        with open(out) as f:
            old = f.read()
    if old != text:
        with open(out, "w") as f:
            f.write(text)
    with open(depfile, "w") as f:
        f.write("%s: %s\n" % (_depfile_escape(out), " ".join(_depfile_escape(d) for d in deps)))
