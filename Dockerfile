# The MediTrack image: one C binary that waits for its database, migrates it,
# seeds it and serves the API and the web UI. Two stages: the first builds the
# binary with the toolchain and the -dev packages, the second carries only the
# runtime libraries, the binary (with the migrations and the web UI embedded)
# and the entrypoint. docs/docker.md explains how to run it; `make test-container`
# builds this file and starts the result.

# ---------------------------------------------------------------------------
# Build stage
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential meson ninja-build pkg-config \
        libjansson-dev libsqlite3-dev libpq-dev libmariadb-dev libsodium-dev \
        libcairo2-dev libpango1.0-dev libfontconfig-dev libgnutls28-dev \
        libcurl4-gnutls-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps build trees, databases, .git and secrets out of this copy.
COPY . .

# Release build of the binary and its loadable modules only (the test
# executables are not needed here). The revisions in migrations/ and the web
# UI in web/ are compiled into the binary by this step. The modules hold the
# libraries that would cost every command more to load than the command takes
# (README.md, "Loadable modules"): meditrack-pdf.so (cairo and pango, on the
# first PDF request), meditrack-postgresql.so and meditrack-mysql.so (libpq,
# libmariadb), meditrack-tls.so (GnuTLS, when TLS_CERT_FILE is set); the
# binary opens them on first use and refuses a module from another build. The
# HTTP server is part of the binary.
RUN meson setup /build /src --buildtype=release -Db_ndebug=true --libdir=lib \
 && ninja -C /build meditrack meditrack-pdf.so \
        meditrack-postgresql.so meditrack-mysql.so meditrack-tls.so \
        meditrack-notify.so \
 && strip /build/meditrack \
 && strip --strip-unneeded /build/meditrack-*.so \
 && /build/meditrack --version

# ---------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim

# The printable form (PDF) needs cairo, pango and fonts that cover the names
# people enter: DejaVu for Latin, Greek and Cyrillic, Droid Sans Fallback for
# CJK. The font cache is built here, once: an image layer keeps directory
# times to the second only, and fontconfig rejects a cache whose recorded
# time has nanoseconds the directory lost, so the times are rounded first.
# Otherwise the non-root process would find no valid and no writable cache.
# GnuTLS (libgnutls30) serves HTTPS when TLS_CERT_FILE is set; libcurl
# (GnuTLS flavour) sends reminders (meditrack-notify.so).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libjansson4 libsqlite3-0 libpq5 libmariadb3 libsodium23 libgnutls30 libcurl3-gnutls tzdata \
        libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libfontconfig1 \
        fontconfig fonts-dejavu-core fonts-droid-fallback \
 && rm -rf /var/lib/apt/lists/* \
 && find /usr/share/fonts /usr/local/share/fonts -type d -exec touch -m -d "@$(date +%s)" {} + \
 && fc-cache -fs

# A fixed uid/gid 1000 so that a bind-mounted data directory can be prepared
# on the host with `chown 1000:1000`.
RUN groupadd --gid 1000 meditrack \
 && useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin meditrack \
 && mkdir -p /app/data \
 && chown 1000:1000 /app/data

COPY --from=build /build/meditrack /usr/local/bin/meditrack
# The binary looks for its modules in ../lib/meditrack from its real path,
# and in <prefix>/<libdir>/meditrack, which --libdir=lib above makes the same.
COPY --from=build /build/meditrack-pdf.so \
     /build/meditrack-postgresql.so /build/meditrack-mysql.so /build/meditrack-tls.so \
     /build/meditrack-notify.so \
     /usr/local/lib/meditrack/
# Invoked as `alembic`, the binary behaves as `meditrack db`, so the commands
# from the Python era (`alembic upgrade head`, `alembic current`) keep working.
RUN ln -s meditrack /usr/local/bin/alembic
COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

ENV HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:////app/data/meditrack.db \
    ENVIRONMENT=production

WORKDIR /app
USER 1000:1000
VOLUME ["/app/data"]
EXPOSE 8000

# The binary is its own probe (GET /health on 127.0.0.1:$PORT, exit 0 on
# 200): no curl in the image. /health answers 503 while the start-up sequence
# runs, so the start period covers slow first migrations.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["meditrack", "healthcheck"]

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["meditrack", "serve"]
