# Two images from one build; each installs only what it runs.
#   pyreverb (the default): the server and Redis scaling
#     docker build -t pyreverb . && docker run -p 8080:8080 --env-file .env pyreverb
#   chatapp: the support chat (run `make web` first so its browser libraries are in the context)
#     docker build --target chatapp -t chatapp . && docker run -p 8000:8000 --env-file chat.env chatapp
# constraints.txt pins every dependency to the versions the test suite ran with
# (`make constraints` writes it), so two builds of one commit install the same thing.
FROM python:3.11-slim AS build
# a C compiler and OpenSSL headers for the compiled trigger path (pyreverb._speedups)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY constraints.txt pyproject.toml setup.py README.md LICENSE ./
COPY pyreverb ./pyreverb
COPY chatapp ./chatapp
# the build requirements (setuptools, Cython) follow the constraints too
ENV PIP_CONSTRAINT=/src/constraints.txt
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[redis,chat]"

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin reverb
COPY --from=build /src/constraints.txt /etc/pyreverb-constraints.txt

FROM runtime AS chatapp
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels \
      --constraint /etc/pyreverb-constraints.txt "pyreverb[chat]"
USER reverb
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/up', timeout=3)"]
ENTRYPOINT ["chatapp"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS pyreverb
ENV REVERB_SERVER_HOST=0.0.0.0 REVERB_SERVER_PORT=8080
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels \
      --constraint /etc/pyreverb-constraints.txt "pyreverb[redis]"
USER reverb
EXPOSE 8080
STOPSIGNAL SIGTERM
# `pyreverb health` reads the settings `pyreverb start` reads: port, REVERB_SERVER_PATH, TLS
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["pyreverb", "health", "--timeout", "2"]
ENTRYPOINT ["pyreverb"]
CMD ["start"]
