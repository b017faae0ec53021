"""Prefect 3 quickstart: a flow that calls a task for each repository."""

from flowtel.prefect import flow, task

# stand-in for https://api.github.com/repos/{repo}
STARGAZERS = {"PrefectHQ/prefect": 17000, "pydantic/pydantic": 21000}


@task(log_prints=True)
def get_stars(repo: str):
    count = STARGAZERS[repo]
    print(f"{repo} has {count} stars!")
    return count


@flow(name="GitHub Stars")
def github_stars(repos: list[str]):
    for repo in repos:
        get_stars(repo)
