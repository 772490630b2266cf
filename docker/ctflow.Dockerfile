# ctflow: the control plane (`ctflow server`, the CLI and the browser dashboard), no libtorch.
#   docker build -f docker/ctflow.Dockerfile -t ctflow:dev .
#   docker build -f docker/ctflow.Dockerfile --target standalone -t ctflow-standalone:dev .
# The default (last) stage is the Kubernetes image: tasks run in Jobs of the ctflow-task image.
# `standalone` adds ctflow-task to it, for the local executor (docker-compose.yml).
# Every build dependency comes from Debian 12 packages (`make deps`) and the npm registry.

FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates
WORKDIR /src
# The Makefile alone first: the packages layer is rebuilt only when the Makefile changes.
COPY Makefile ./
RUN make deps
# The dashboard's Vite 7 needs Node >= 20.19; Debian 12 has Node 18. Debian's npm installs the
# Node 20 binary that the npm package node-linux-<arch> ships, ahead of /usr/bin on PATH.
RUN apt-get install -y -qq --no-install-recommends nodejs npm \
 && case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) exit 1 ;; esac \
 && npm install -g --no-audit --no-fund "node-linux-$arch@20.20.2" \
 && node --version | grep -q '^v20\.'
COPY . .
RUN make build BUILD=/build CMAKE_ARGS="-DCTFLOW_TESTS=OFF -DCTFLOW_TASKS=OFF" \
      BUILD_TARGETS="ctflow web" \
 && test -f web/dist/index.html

# ctflow-task for the standalone image (built only when that target is asked for).
FROM build AS build-tasks
RUN make build BUILD=/build-tasks CMAKE_ARGS="-DCTFLOW_TESTS=OFF -DCTFLOW_WEB=OFF" \
      BUILD_TARGETS="ctflow-task"

# Server and tasks in one image: `ctflow server` runs the tasks as local processes.
FROM debian:12-slim AS standalone
COPY docker/runtime-packages.sh /usr/local/sbin/
RUN runtime-packages.sh server && runtime-packages.sh task && rm /usr/local/sbin/runtime-packages.sh
RUN groupadd --system --gid 10001 ctflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ctflow --no-create-home \
      --shell /usr/sbin/nologin ctflow \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ctflow /var/run/ctflow
COPY --from=build /build/ctflow /usr/local/bin/ctflow
COPY --from=build-tasks /build-tasks/ctflow-task /usr/local/bin/ctflow-task
COPY --from=build /src/web/dist /usr/local/share/ctflow/web
COPY examples /usr/local/share/ctflow/examples
ENV CTFLOW_HOME=/var/lib/ctflow CTFLOW_WEB_DIR=/usr/local/share/ctflow/web
USER 10001:10001
WORKDIR /var/lib/ctflow
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ctflow"]
CMD ["--help"]

# The Kubernetes image (default target).
FROM debian:12-slim AS ctflow
COPY docker/runtime-packages.sh /usr/local/sbin/
RUN runtime-packages.sh server && rm /usr/local/sbin/runtime-packages.sh
RUN groupadd --system --gid 10001 ctflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ctflow --no-create-home \
      --shell /usr/sbin/nologin ctflow \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ctflow /var/run/ctflow
COPY --from=build /build/ctflow /usr/local/bin/ctflow
COPY --from=build /src/web/dist /usr/local/share/ctflow/web
COPY examples /usr/local/share/ctflow/examples
# CTFLOW_HOME: the CLI in the container (`kubectl exec ... -- ctflow runs`) finds the admin
# token in the data dir. CTFLOW_WEB_DIR: where the server finds the dashboard.
ENV CTFLOW_HOME=/var/lib/ctflow CTFLOW_WEB_DIR=/usr/local/share/ctflow/web
USER 10001:10001
WORKDIR /var/lib/ctflow
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ctflow"]
CMD ["--help"]
