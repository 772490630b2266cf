# ctflow-task: the CT tasks (libtorch, faiss), the image of every task's Kubernetes Job
# (CTFLOW_K8S_IMAGE). The Job's command is the task's argv (`ctflow-task train ...`), so the
# image has no entrypoint of its own; it also has /bin/sh for pipelines whose tasks use it.
#   docker build -f docker/ctflow-task.Dockerfile -t ctflow-task:dev .
# Every build dependency comes from Debian 12 packages (`make deps`).

FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates
WORKDIR /src
COPY Makefile ./
RUN make deps
COPY . .
RUN make build BUILD=/build CMAKE_ARGS="-DCTFLOW_TESTS=OFF -DCTFLOW_WEB=OFF" \
      BUILD_TARGETS="ctflow-task"

FROM debian:12-slim AS runtime
COPY docker/runtime-packages.sh /usr/local/sbin/
RUN runtime-packages.sh task && rm /usr/local/sbin/runtime-packages.sh
# uid/gid 10001, as in the ctflow image: a task writes files on the shared data volume that the
# server reads, and the server writes the inputs that the task reads.
RUN groupadd --system --gid 10001 ctflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ctflow --no-create-home \
      --shell /usr/sbin/nologin ctflow \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ctflow
COPY --from=build /build/ctflow-task /usr/local/bin/ctflow-task
USER 10001:10001
WORKDIR /var/lib/ctflow
CMD ["ctflow-task", "--help"]
