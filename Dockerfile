# A slim image that runs `pyreverb start` as a non-root user.
#   docker build -t pyreverb . && docker run -p 8080:8080 --env-file .env pyreverb
FROM python:3.11-slim AS build
# a C compiler and OpenSSL headers for the compiled trigger path (pyreverb._speedups)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY pyreverb ./pyreverb
COPY chatapp ./chatapp
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REVERB_SERVER_HOST=0.0.0.0 REVERB_SERVER_PORT=8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin reverb
USER reverb
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/up' % os.environ.get('REVERB_SERVER_PORT','8080'))"
ENTRYPOINT ["pyreverb"]
CMD ["start"]
