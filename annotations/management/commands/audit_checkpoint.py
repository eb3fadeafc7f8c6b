from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from annotations import checkpoints


class Command(BaseCommand):
    help = (
        "Sign the audit trail's head (its event count and newest hash) as a checkpoint and write it "
        "outside the database; beat does this every 10 minutes. --generate-key prints a new key pair."
    )

    def add_arguments(self, parser):
        parser.add_argument("--generate-key", action="store_true",
                            help="Print a new signing key and its verifier key; nothing is written.")
        parser.add_argument("--name", default="",
                            help="With --generate-key: the key's name (default: AUDIT_CHECKPOINT_ORIGIN).")
        parser.add_argument("--verifier-key", action="store_true",
                            help="Print the verifier key of the configured signing key.")

    def handle(self, *args, generate_key, name, verifier_key, **options):
        try:
            if generate_key:
                self._generate(name or checkpoints.origin())
            elif verifier_key:
                self.stdout.write(checkpoints.signer().verifier.vkey)
            else:
                outcome = checkpoints.checkpoint_sign_head()
                self.stdout.write(self.style.SUCCESS(outcome.message) if outcome.written else outcome.message)
                if outcome.signed is not None:
                    self.stdout.write(outcome.signed.note, ending="")
        except (ImproperlyConfigured, checkpoints.CheckpointError) as exc:
            raise CommandError(str(exc)) from None

    def _generate(self, name: str) -> None:
        signer = checkpoints.Signer.generate(name)
        self.stdout.write(
            "Signing key (secret: give it to the desk as AUDIT_SIGNING_KEY, or put it in the file named by "
            "AUDIT_SIGNING_KEY_FILE; never in the database or the repository):\n"
            f"{signer.skey}\n"
            "Verifier key (public: shown at /v/audit/key/; anyone may hold it):\n"
            f"{signer.verifier.vkey}"
        )
