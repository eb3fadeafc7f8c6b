import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotations.importing import parse_file
from annotations.models import Role, Workspace
from annotations.services.articles import article_import
from annotations.services.workspaces import membership_set, workspace_create

ARTICLES_DIR = settings.BASE_DIR / "fixtures" / "articles"

# username, full name, role, password. Development only: load_demo refuses to run
# with DEBUG off unless forced, so these never reach a production desk by accident.
DEMO_USERS = [
    ("annotator", "Anna Annotator", Role.ANNOTATOR, "annotator-demo"),
    ("annotator2", "Ben Annotator", Role.ANNOTATOR, "annotator2-demo"),
    ("reviewer", "Rita Reviewer", Role.REVIEWER, "reviewer-demo"),
    ("admin", "Adam Admin", Role.ADMIN, "admin-demo"),
]


class Command(BaseCommand):
    help = "Load the demo workspace, its four demo users and the five demo articles (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Load even with DEBUG off (never in production)."
        )

    @transaction.atomic
    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "The demo users have published passwords, so load_demo only runs with DEBUG=1 "
                "(or --force on a throwaway database)."
            )
        manifest = json.loads((ARTICLES_DIR / "manifest.json").read_text())
        spec = manifest["workspace"]
        workspace = Workspace.objects.filter(slug=spec["slug"]).first() or workspace_create(
            name=spec["name"], slug=spec["slug"], publisher_name=spec["publisher_name"]
        )
        # The demo shows publishing end to end: approved verdicts get public pages at /v/<slug>/.
        if not workspace.public_pages:
            workspace.public_pages = True
            workspace.save(update_fields=["public_pages"])

        User = get_user_model()
        for username, full_name, role, password in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
            )
            user.set_password(password)
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.save()
            membership_set(workspace=workspace, user=user, role=role)

        outcomes = []
        for entry in manifest["articles"]:
            parsed = parse_file(ARTICLES_DIR / entry["file"])
            result = article_import(
                workspace=workspace,
                text=parsed.text,
                title=entry.get("title", parsed.title),
                source_name=parsed.source_name,
            )
            outcomes.append(result.outcome)
        self.stdout.write(
            f"Demo workspace {workspace.name!r}: {outcomes.count('created')} article(s) added, "
            f"{outcomes.count('unchanged')} already there."
        )
        if options["verbosity"] >= 1:
            self.stdout.write("Demo logins (username / password, role):")
            for username, _, role, password in DEMO_USERS:
                self.stdout.write(f"  {username:<11} / {password:<16} {role.label}")
