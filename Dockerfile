# backlog-git's MCP server in a container: it serves the git repository mounted at /repo on stdio.
#
#   docker build -t backlog-git .
#   docker run -i --rm -v "$PWD":/repo backlog-git            # what an MCP client's config runs
#   docker run -i --rm -v "$PWD":/repo -e BACKLOG_AGENT_ID=claude backlog-git
#   docker run --rm -v "$PWD":/repo backlog-git list          # any other command: backlog-git <command>
#
# BASE may be any Debian-based image with Python >= 3.11 (python3 and its venv module).
ARG BASE=python:3.11-slim
FROM ${BASE}

# git: the store runs `git` for sync with a remote, history and the merge driver. A mounted repository
# belongs to the host's user, not to the container's: safe.directory trusts it, for any uid.
RUN if ! command -v git >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends git ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && git config --system --add safe.directory '*' \
    && git config --global --add safe.directory '*'

COPY . /src/backlog-git
RUN python3 -m venv /opt/backlog-git \
    && /opt/backlog-git/bin/pip install --no-cache-dir --disable-pip-version-check /src/backlog-git \
    && rm -rf /src/backlog-git
ENV PATH=/opt/backlog-git/bin:$PATH \
    PYTHONUNBUFFERED=1

WORKDIR /repo
ENTRYPOINT ["backlog-git"]
CMD ["serve"]
