use strict;
my ($name) = ($ENV{QUERY_STRING} =~ /name=(\w+)/);
print "Content-Type: text/plain\r\n\r\n";
print "Hello from Perl, ", $name // "nobody", "\n";
