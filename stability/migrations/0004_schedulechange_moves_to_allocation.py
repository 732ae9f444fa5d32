# ScheduleChange now belongs to the allocation app (allocation 0003); state only, the table stays.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('allocation', '0003_schedulechange'),
        ('stability', '0003_price_of_anarchy_estimate'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='swaprequest',
                    name='change',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='swap_requests', to='allocation.schedulechange'),
                ),
                migrations.DeleteModel(
                    name='ScheduleChange',
                ),
            ],
        ),
    ]
