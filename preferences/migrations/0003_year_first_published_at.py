# The year remembers when its schedule was first published, so the preference window can say it closed early
# without the preferences app reading the allocation app's schedules.

from django.db import migrations, models
from django.db.models import Min


def fill_from_schedules(apps, schema_editor):
    AcademicYear = apps.get_model("preferences", "AcademicYear")
    Schedule = apps.get_model("allocation", "Schedule")
    firsts = Schedule.objects.filter(published_at__isnull=False).values("year_id").annotate(first=Min("published_at"))
    for row in firsts:
        AcademicYear.objects.filter(pk=row["year_id"]).update(first_published_at=row["first"])


class Migration(migrations.Migration):

    dependencies = [
        ('preferences', '0002_year_roster'),
        ('allocation', '0003_schedulechange'),
    ]

    operations = [
        migrations.AddField(
            model_name='academicyear',
            name='first_published_at',
            field=models.DateTimeField(blank=True, help_text='When a schedule of this year was first published (set by the publish gate)', null=True),
        ),
        migrations.RunPython(fill_from_schedules, migrations.RunPython.noop),
    ]
