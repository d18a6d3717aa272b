/* scope.c - the names of the leave reasons (scope.h). */
#include "model/scope.h"

#include <stddef.h>
#include <string.h>

static const struct {
	const char *key, *text;
} reasons[LR_NREASONS] = {
	[LR_NONE] = {"", ""},
	[LR_DISABLED] = {"account_disabled",
			 "account disabled in the directory"},
	[LR_EXPIRED] = {"account_expired", "account expired in the directory"},
	[LR_HIDDEN] = {"hidden", "hidden from address lists, visible_only"},
	[LR_NOT_MEMBER] = {"not_member_of",
			   "not in a [scope] member_of group"},
	[LR_EXCLUDED] = {"excluded", "excluded by a [scope] exclude pattern"},
	[LR_NO_ADDRESS] = {"no_address",
			   "no usable mail address, mail_enabled_only"},
	[LR_DOMAIN] = {"domain_not_accepted",
		       "primary address not in accepted_domains"},
	[LR_TYPE_OFF] = {"object_type_off",
			 "object type not in [scope] object_types"},
	[LR_GROUP_FILTER] = {"group_filter",
			     "group does not match group_filter"},
	[LR_LIST_EMPTY] = {"list_empty", "no member of the list in scope"},
	[LR_NOT_READ] = {"deleted",
			 "not in the directory read: deleted, or outside "
			 "base_dn/filter"},
	[LR_ADDRESS_GONE] = {"address_gone",
			     "the directory object no longer has this "
			     "address"},
};

const char *
leave_reason_key(enum leave_reason r)
{
	return (unsigned)r < LR_NREASONS ? reasons[r].key : "";
}

const char *
leave_reason_text(enum leave_reason r)
{
	return (unsigned)r < LR_NREASONS ? reasons[r].text : "";
}

enum leave_reason
leave_reason_parse(const char *s)
{
	int i;

	for (i = 1; s != NULL && i < LR_NREASONS; i++)
		if (strcmp(s, reasons[i].key) == 0)
			return (enum leave_reason)i;
	return LR_NONE;
}
