# ctflow-serve: the predictor (KServe v1/v2, libtorch + faiss). It reaches ctflow over the API
# with an operator token and never opens the database.
#   docker build -f docker/ctflow-serve.Dockerfile -t ctflow-serve:dev .
# Every build dependency comes from Debian 12 packages (`make deps`).

FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates
WORKDIR /src
COPY Makefile ./
RUN make deps
COPY . .
RUN make build BUILD=/build CMAKE_ARGS="-DCTFLOW_TESTS=OFF -DCTFLOW_WEB=OFF" \
      BUILD_TARGETS="ctflow-serve"

FROM debian:12-slim AS runtime
COPY docker/runtime-packages.sh /usr/local/sbin/
RUN runtime-packages.sh serve && rm /usr/local/sbin/runtime-packages.sh
RUN groupadd --system --gid 10001 ctflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/cache/ctflow-serve --no-create-home \
      --shell /usr/sbin/nologin ctflow \
 && install -d -o 10001 -g 10001 -m 0750 /var/cache/ctflow-serve /var/run/ctflow
COPY --from=build /build/ctflow-serve /usr/local/bin/ctflow-serve
# The model files it downloads and its spool of prediction logs go under the cache folder (a
# volume in docker-compose.yml, an emptyDir in k8s/); the root filesystem can be read-only.
ENV HOME=/var/cache/ctflow-serve XDG_CACHE_HOME=/var/cache/ctflow-serve OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1
USER 10001:10001
WORKDIR /var/cache/ctflow-serve
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/ctflow-serve"]
CMD ["--help"]
