# The audit trail of schedule changes moves from the stability app to the schedule's own app (DESIGN §2): the model
# changes app in Django's state only; the table (stability_schedulechange) and its rows stay where they are.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('allocation', '0002_runs_preassignments_comparisons'),
        ('stability', '0003_price_of_anarchy_estimate'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='ScheduleChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('swap', 'Swap'), ('cycle', 'Trading cycle'), ('recommended', 'Recommended swap applied by a coordinator'), ('settlement', 'Auction settlement')], max_length=12)),
                        ('at', models.DateTimeField(auto_now_add=True)),
                        ('reason', models.CharField(blank=True, max_length=300)),
                        ('before', models.JSONField(default=list)),
                        ('after', models.JSONField(default=list)),
                        ('nash_distance_before', models.FloatField(blank=True, null=True)),
                        ('nash_distance_after', models.FloatField(blank=True, null=True)),
                        ('actor', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('schedule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='allocation.schedule')),
                    ],
                    options={
                        'db_table': 'stability_schedulechange',
                        'ordering': ['-at', '-pk'],
                    },
                ),
            ],
        ),
    ]
