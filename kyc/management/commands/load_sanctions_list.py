"""python manage.py load_sanctions_list FILE.csv --source NAME"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.aml import load_sanctions_csv


class Command(BaseCommand):
    help = "Replace one sanctions list with the entries of a CSV file (columns: reference, name, country)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, help="The list's name, e.g. EU-FSF or OFAC-SDN.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = load_sanctions_csv(path=options["path"], source=options["source"])
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{options['source']}: {count} entries loaded"))
