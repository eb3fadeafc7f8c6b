from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotations.importing import SUPPORTED_SUFFIXES, ArticleFileError, parse_file
from annotations.models import Workspace
from annotations.services.articles import article_import


def expand(paths: list[str]) -> list[Path]:
    """Files as given; a directory stands for its .txt and .html files, sorted."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        else:
            files.append(path)
    return files


class Command(BaseCommand):
    help = (
        "Import article files (.txt, .html) into a workspace. Re-importing the same text "
        "changes nothing; a changed text for a known URL or title becomes a new version."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, or folders of .txt/.html files.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument("--title", default="", help="Title (only with a single file).")
        parser.add_argument("--url", default="", help="Article URL (only with a single file).")
        parser.add_argument("--publisher", default="", help="Publisher for every file.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, paths, workspace, title, url, publisher, no_progress, **options):
        try:
            desk = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"There is no workspace with the slug {workspace!r}.") from None
        files = expand(paths)
        if not files:
            raise CommandError("No .txt or .html files were found in the paths given.")
        if (title or url) and len(files) > 1:
            raise CommandError("--title and --url can only be used when importing one file.")

        counts = {"created": 0, "new_version": 0, "unchanged": 0, "failed": 0}
        bar = tqdm(files, unit="file", disable=no_progress, file=self.stderr._out, leave=False)
        for path in bar:
            bar.set_postfix_str(path.name)
            try:
                parsed = parse_file(path)
                result = article_import(
                    workspace=desk,
                    text=parsed.text,
                    title=title or parsed.title,
                    url=url or parsed.url,
                    publisher=publisher or parsed.publisher,
                    byline=parsed.byline,
                    published_on=parsed.published_on,
                    language=parsed.language,
                    source_name=parsed.source_name,
                )
            except (ArticleFileError, ValidationError) as exc:
                counts["failed"] += 1
                reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                bar.write(f"error: {path}: {reason}", file=self.stderr._out)
                continue
            counts[result.outcome] += 1
            if options["verbosity"] >= 2:
                bar.write(
                    f"{result.outcome}: {path} -> {result.article.title!r} v{result.version.number}",
                    file=self.stdout._out,
                )
        bar.close()

        summary = (
            f"{len(files)} file(s): {counts['created']} new article(s), "
            f"{counts['new_version']} new version(s), {counts['unchanged']} unchanged, "
            f"{counts['failed']} failed."
        )
        if counts["failed"]:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
