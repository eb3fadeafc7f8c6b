"""Embed every restatement that has no up-to-date embedding, so a desk's earlier claims are
matched by meaning at once (after switching the model on, or upgrading it) instead of as each
comes up as a candidate."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotations import embeddings
from annotations.models import Claim, Workspace
from annotations.services.matching import claim_embeddings_store, forget_desk

BATCH = 256


class Command(BaseCommand):
    help = "Embed the claims' restatements for claim matching (those missing or out of date)."

    def add_arguments(self, parser):
        parser.add_argument("--desk", help="only this desk (its slug)")

    def handle(self, *args, desk=None, **options):
        if not embeddings.available():
            raise CommandError(
                "Claim matching's model is off (MATCHING_MODEL=off) or not installed: there is nothing "
                "to embed with. See README, \"Claim matching\"."
            )
        claims = Claim.objects.exclude(claim_reviewed__regex=r"^\s*$")  # a blank restatement has nothing to embed
        if desk:
            workspace = Workspace.objects.filter(slug=desk).first()
            if workspace is None:
                raise CommandError(f"There is no desk with the slug \"{desk}\".")
            claims = claims.filter(workspace=workspace)
        # Each claim with its embedding's model and text digest, if any (one LEFT JOIN, streamed).
        todo = claims.order_by("pk").values_list("pk", "claim_reviewed", "embedding__model", "embedding__text_sha256")
        total = claims.count()
        done = 0
        batch: dict[int, str] = {}
        with tqdm(total=total, unit="claim", desc="Embedding restatements", disable=total == 0) as bar:
            for pk, text, model, digest in todo.iterator(chunk_size=2000):
                bar.update(1)
                if model == embeddings.MODEL and digest == embeddings.text_sha256(text.strip()):
                    continue
                batch[pk] = text
                if len(batch) >= BATCH:
                    done += self.store(batch)
                    batch = {}
            if batch:
                done += self.store(batch)
        # The desks' cached backgrounds were sampled with fewer vectors: sample them again.
        for each in Workspace.objects.filter(slug=desk) if desk else Workspace.objects.all():
            forget_desk(each)
        self.stdout.write(f"Embedded {done} restatements; {total - done} were up to date.")

    def store(self, batch: dict[int, str]) -> int:
        stored = claim_embeddings_store(texts=batch)
        if not stored:
            raise CommandError(f"Claim matching's model failed: {embeddings._broken}. Nothing more was embedded.")
        return len(stored)
